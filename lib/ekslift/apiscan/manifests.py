"""The fast manifest scanner: files, folders and stdin, with findings identical to a full parse.

Why it is fast
--------------
A full parse (PyYAML's C loader) builds Python objects for every byte, yet in a rendered
estate only a handful of documents use an API that any fact names.  A document can only
produce a finding if its constructed ``apiVersion`` (or, for core-group facts, its ``kind``)
*equals* a fact's string, so the bytes of that document must contain the string -- unless
YAML rewrote the characters on the way in.  The scanner therefore

1. searches the whole file once for every *needle* (:meth:`FactSet.needles`) and for the
   only YAML constructs that can produce those characters without spelling them: escapes
   in double-quoted scalars (``\\x..``, ``\\u....``, ``\\U........``, ``\\/``) and escaped
   line breaks, which join two lines without a space.  Line folding everywhere else
   inserts a space or newline, which no needle contains; aliases, merge keys and tags
   only repeat text that is already in the same document.
2. if nothing matches, the file has no findings and is done (this is the common case and
   runs at memory-search speed);
3. otherwise splits the file into pieces at column-0 ``---`` marker lines and fully
   parses, with the C loader, only the pieces that contain a match;
4. and of a parsed document it constructs (in PyYAML's Python constructor, the costly
   part) only what a finding reads -- ``apiVersion``, ``kind``, ``metadata``, ``items`` --
   when a walk over its nodes proves that constructing the whole could neither fail nor
   warn (:func:`_plain`); any other document is constructed whole.  This keeps a dense
   estate (many large objects on removed APIs) fast, not only a sparse one.

Why the split is exact: both libyaml and PyYAML's scanner emit a document token for a
``---`` at column 0 followed by a blank or line end in *every* context -- block
scalars need an indent of at least one column, plain scalars stop there, quoted scalars and
open flow collections fail there.  So for a valid stream, parsing each piece alone gives the
same documents as parsing the stream, and a needle's document is the piece that contains it.
A piece is parsed with ``compose``/``construct`` in a loop, so a missed boundary could only
cost speed, never a finding.  Files where line numbering or document boundaries could differ
from that simple model -- directives (``%YAML``/``%TAG``), lone CR, NEL, LS or PS line
breaks -- are parsed whole instead.

What it gives up
----------------
By default it reports the problems of the documents it parses (and file-level problems:
unreadable, too large, binary, not UTF-8); a syntax error in a document that contains no
needle cannot change any finding and is not looked for.  ``strict=True`` parses every
document and reports every problem.  Unlike a single-stream parse, a broken document does
not hide the documents after it: each piece is parsed on its own and the scan goes on.
"""

from __future__ import annotations

import bisect
import errno
import os
import re
import stat
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, TypeGuard

import yaml

from .facts import FactSet, Targets
from .sightings import ScanProblem, Sighting

STDIN = "-"
STDIN_NAME = "<stdin>"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
CHART_FILE = "Chart.yaml"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
DEFAULT_MAX_FILE_SIZE = 64 * 1024 * 1024

_MARKER_FOLLOW = frozenset(b" \t\r\n")
# Escapes that can spell a needle's characters, and escaped line breaks (which join lines).
_ESCAPE_DANGER = re.compile(rb"\\(?:[xuU/\r\n]|\xc2\x85|\xe2\x80[\xa8\xa9])")
_LONE_CR = re.compile(rb"\r(?!\n)")
_EXOTIC_BREAKS = (b"\xc2\x85", b"\xe2\x80\xa8", b"\xe2\x80\xa9")
_STAGES = (b"beta", b"alpha")
# Characters a needle may contain (checked by facts._TOKEN), as byte values.
_NEEDLE_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-")
_BACKSLASH, _QUOTE, _LF, _CR = 0x5C, 0x22, 0x0A, 0x0D
_BLANKS = frozenset(b" \t")
_BREAKS = frozenset(b"\r\n")
_ESCAPE_WALK_LIMIT = 4096
_BOM_UTF8 = b"\xef\xbb\xbf"
_BOM_UTF16 = (b"\xff\xfe", b"\xfe\xff")


class _TolerantLoader(yaml.CSafeLoader):
    """The C safe loader, reading unknown tags (``!Ref``, ``!!string``) as plain data.

    CloudFormation-style tags or typos must not stop the scan of an object that may well be
    on a removed API; the tag is reported as a warning and the value kept as if untagged.
    """

    def __init__(self, stream: bytes) -> None:
        super().__init__(stream)
        self.unknown_tags: list[tuple[str, int]] = []


def _construct_unknown(loader: _TolerantLoader, node: yaml.Node) -> Any:
    loader.unknown_tags.append((node.tag, node.start_mark.line))
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    assert isinstance(node, yaml.ScalarNode)  # the composer makes no other kind of node
    return loader.construct_scalar(node)


_TolerantLoader.add_constructor(None, _construct_unknown)


@dataclass(frozen=True)
class ScanOptions:
    """Knobs of a file scan; the defaults suit CI on a repository of manifests."""

    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    strict: bool = False
    suffixes: tuple[str, ...] = MANIFEST_SUFFIXES


@dataclass(frozen=True)
class RenderRoot:
    """A folder that is a Helm chart or a kustomization: its templates are not manifests
    until rendered (by the caller, which has helm and kubectl; this module has neither)."""

    path: Path
    kind: Literal["chart", "kustomization"]


def render_root(directory: Path) -> RenderRoot | None:
    """The chart or kustomization a folder is, by the file that makes it one."""
    if (directory / CHART_FILE).is_file():
        return RenderRoot(directory, "chart")
    if any((directory / name).is_file() for name in KUSTOMIZATION_FILES):
        return RenderRoot(directory, "kustomization")
    return None


@dataclass
class FileScanResult:
    """Findings and problems of a file scan, with counters for the report and the bench."""

    sightings: list[Sighting] = field(default_factory=list)
    problems: list[ScanProblem] = field(default_factory=list)
    render_roots: list[RenderRoot] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    documents_parsed: int = 0
    files_parsed_whole: int = 0

    def add(self, other: FileScanResult) -> None:
        self.sightings.extend(other.sightings)
        self.problems.extend(other.problems)
        self.render_roots.extend(other.render_roots)
        self.files += other.files
        self.bytes += other.bytes
        self.documents_parsed += other.documents_parsed
        self.files_parsed_whole += other.files_parsed_whole

    def stats(self) -> dict[str, int]:
        return {
            "files": self.files,
            "bytes": self.bytes,
            "documents_parsed": self.documents_parsed,
            "files_parsed_whole": self.files_parsed_whole,
        }


def _line_of(data: bytes, offset: int) -> int:
    """1-based line of a byte offset (LF and CRLF files; others are parsed whole)."""
    return data.count(b"\n", 0, offset) + 1


def normalize_text(data: bytes, name: str) -> tuple[bytes | None, ScanProblem | None]:
    """UTF-8 bytes without BOM, or the reason the file is not YAML text.

    UTF-16 with a BOM is converted (PyYAML accepts it, so a scan must too); a NUL byte
    means a binary file, and invalid UTF-8 is reported with its line rather than left for
    libyaml to fail on later with a less helpful message.
    """
    if data.startswith(_BOM_UTF16):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            return None, ScanProblem(name, f"invalid UTF-16 text: {exc.reason}", line=1)
    if data.startswith(_BOM_UTF8):
        data = data[len(_BOM_UTF8) :]
    nul = data.find(b"\x00")
    if nul >= 0:
        return None, ScanProblem(
            name,
            "binary file (NUL byte); not a manifest, skipped -- remove it from the scan paths",
            line=_line_of(data, nul),
        )
    try:
        if not data.isascii():  # isascii runs at memory speed; most manifests are ASCII
            data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, ScanProblem(
            name,
            f"not UTF-8 text (byte {exc.start}: {exc.reason}); save the file as UTF-8",
            line=_line_of(data, exc.start),
        )
    return data, None


class ManifestScanner:
    """Scans manifest bytes for objects on deprecated or removed APIs, for one target."""

    def __init__(self, facts: FactSet, targets: Targets, options: ScanOptions | None = None):
        self.facts = facts
        self.targets = targets
        self.options = options or ScanOptions()
        needles = sorted((n.encode() for n in facts.needles()), key=len, reverse=True)
        self._needle_re = re.compile(b"|".join(re.escape(n) for n in needles))
        self._window = max((len(n) for n in needles), default=0)
        self._anchors = sorted({_anchor(n) for n in needles})

    # ------------------------------------------------------------------ public entry points
    def scan_paths(self, paths: Sequence[str], stdin: BinaryIO | None = None) -> FileScanResult:
        """Scan files, folders (recursively) and ``-`` (stdin), in the order given."""
        result = FileScanResult()
        seen: set[tuple[int, int]] = set()
        for raw in paths:
            if raw == STDIN:
                stream = stdin if stdin is not None else sys.stdin.buffer
                result.add(self._scan_stream(stream))
                continue
            for item in iter_manifest_files(Path(raw), self.options.suffixes, seen):
                if isinstance(item, ScanProblem):
                    result.problems.append(item)
                elif isinstance(item, RenderRoot):
                    result.render_roots.append(item)
                else:
                    result.add(self.scan_file(item))
        return result

    def scan_file(self, path: Path) -> FileScanResult:
        data, problem = read_manifest(path, self.options.max_file_size)
        if problem is not None:
            result = FileScanResult(files=1)
            result.problems.append(problem)
            return result
        assert data is not None
        return self.scan_bytes(data, str(path))

    def scan_bytes(self, data: bytes, name: str) -> FileScanResult:
        """Findings and problems of one file's bytes (see the module docstring)."""
        result = FileScanResult(files=1, bytes=len(data))
        text, problem = normalize_text(data, name)
        if problem is not None:
            result.problems.append(problem)
            return result
        assert text is not None
        if self._must_parse_whole(text):
            result.files_parsed_whole = 1
            self._parse_piece(text, 1, name, result)
            return result
        if self.options.strict:
            pieces = _document_pieces(text)
            selected: Sequence[int] = range(len(pieces))
        else:
            hits = self._candidate_offsets(text)
            if not hits:
                return result
            pieces = _document_pieces(text)
            selected = sorted({bisect.bisect_right(pieces, offset) - 1 for offset in hits})
        line, counted_to = 1, 0
        for index in selected:
            start = pieces[index]
            end = pieces[index + 1] if index + 1 < len(pieces) else len(text)
            line += text.count(b"\n", counted_to, start)
            counted_to = start
            self._parse_piece(text[start:end], line, name, result)
        return result

    # ------------------------------------------------------------------ internals
    def _scan_stream(self, stream: BinaryIO) -> FileScanResult:
        data = stream.read(self.options.max_file_size + 1)
        if len(data) > self.options.max_file_size:
            result = FileScanResult(files=1)
            result.problems.append(_too_large(STDIN_NAME, None, self.options.max_file_size))
            return result
        return self.scan_bytes(data, STDIN_NAME)

    @staticmethod
    def _must_parse_whole(text: bytes) -> bool:
        """Files whose documents or line numbers the simple split could get wrong."""
        if b"%" in text and (text.startswith(b"%") or b"\n%" in text):
            return True
        if b"\r" in text and _LONE_CR.search(text):
            return True
        return not text.isascii() and any(brk in text for brk in _EXOTIC_BREAKS)

    def _candidate_offsets(self, text: bytes) -> list[int]:
        """Offsets of every needle (and escape) occurrence in ``text``.

        A regex alternation of ~40 needles runs at a few MB/s in CPython; ``bytes.find``
        of a short anchor runs at memory speed.  Every needle contains its anchor, so each
        needle occurrence lies within ``window`` bytes of an anchor occurrence, where the
        alternation is then run on a small slice.
        """
        offsets: list[int] = []
        window, needle_re = self._window, self._needle_re
        for anchor in self._anchors:
            find, at = text.find, text.find(anchor)
            while at >= 0:
                lo = max(0, at - window)
                offsets.extend(m.start() for m in needle_re.finditer(text, lo, at + window))
                at = find(anchor, at + 1)
        if b"\\" in text:
            offsets.extend(
                m.start()
                for m in _ESCAPE_DANGER.finditer(text)
                if _may_be_in_needle_scalar(text, m.start())
            )
        return offsets

    def _parse_piece(
        self, piece: bytes, first_line: int, name: str, result: FileScanResult
    ) -> None:
        """Fully parse one piece (one document, or a whole file) and collect its findings."""
        loader = _TolerantLoader(piece)
        line_base = first_line - 1
        anchored = b"&" in piece
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None:  # check_node() promised a document; be safe if it lied
                    break
                result.documents_parsed += 1
                doc_line = line_base + node.start_mark.line + 1
                try:
                    obj = (
                        _construct_identity(loader, node)
                        if _plain(node, loader, anchored)
                        else loader.construct_document(node)
                    )
                except (yaml.YAMLError, ValueError, TypeError) as exc:
                    result.problems.append(_yaml_problem(name, exc, line_base, doc_line))
                    loader.unknown_tags.clear()
                    continue
                for tag, tag_line in loader.unknown_tags:
                    result.problems.append(
                        ScanProblem(
                            name,
                            f"unknown YAML tag {tag!r} read as plain data; remove the tag if "
                            "this is meant to be a Kubernetes manifest",
                            line=line_base + tag_line + 1,
                            level="warning",
                        )
                    )
                loader.unknown_tags.clear()
                self._collect(node, obj, name, line_base, result)
        except yaml.YAMLError as exc:
            result.problems.append(_yaml_problem(name, exc, line_base, line_base + 1))
        finally:
            loader.dispose()

    def _collect(
        self, node: yaml.Node, obj: Any, name: str, line_base: int, result: FileScanResult
    ) -> None:
        if obj is None:
            return  # empty documents are normal in rendered charts
        if not isinstance(obj, dict):
            result.problems.append(
                ScanProblem(
                    name,
                    f"document is a {type(obj).__name__}, not a mapping; a Kubernetes manifest "
                    "is a mapping with apiVersion and kind",
                    line=line_base + node.start_mark.line + 1,
                )
            )
            return
        for obj_node, manifest in manifest_objects(node, obj):
            sighting = self._finding(obj_node, manifest, name, line_base)
            if sighting is not None:
                result.sightings.append(sighting)

    def _finding(
        self, node: yaml.Node, manifest: dict[Any, Any], name: str, line_base: int
    ) -> Sighting | None:
        api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
        fact = self.facts.match(api_version, kind)
        if fact is None:
            return None
        status = fact.severity_at(self.targets.for_component(fact.component))
        if status is None:
            return None
        best = self.facts.best_replacement(fact, self.targets) or fact
        obj_name, namespace = object_identity(manifest)
        return Sighting(
            source="file",
            kind=kind if isinstance(kind, str) else "",
            api_version=str(api_version),
            name=obj_name,
            namespace=namespace,
            file=name,
            line=line_base + api_version_line(node) + 1,
            rule=fact.id,
            status=status,
            replacement=best.replacement_text(),
            note=self.facts.note_at(fact, self.targets),
        )


# ---------------------------------------------------------------------- document helpers
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
# Scalar types a plain document may hold, each checked by constructing it (not strings:
# a string always constructs).
_TYPED_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null", "timestamp")
)
# What a finding reads of a manifest (`_finding`, `object_identity`, `manifest_objects`).
_IDENTITY_KEYS = frozenset({"apiVersion", "kind", "metadata", "items"})


def _plain(root: yaml.Node, loader: _TolerantLoader, anchored: bool) -> TypeGuard[yaml.MappingNode]:
    """Would constructing this document surely succeed without a warning?

    True for a mapping made only of mappings, sequences, strings and typed scalars that
    construct, with scalar keys and neither merge keys nor aliases: what rendered charts are.
    Then a finding needs only :data:`_IDENTITY_KEYS` constructed, and building the rest
    (most of a large Deployment, in Python) could change nothing. Anything else (a tag,
    a scalar its type rejects, a merge, an alias) is constructed whole, as before.
    ``anchored``: the piece has an ``&``, so it may hold aliases (one node reached twice,
    perhaps from inside itself); without one, no node is shared and none is tracked."""
    if root.__class__ is not yaml.MappingNode:
        return False
    seen: set[int] | None = set() if anchored else None
    stack: list[yaml.Node] = [root]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        node = pop()
        if seen is not None:
            if id(node) in seen:
                return False  # an alias: recursion and sharing are the constructor's to judge
            seen.add(id(node))
        kind = node.__class__
        if kind is yaml.ScalarNode:
            if node.tag != _STR_TAG and not _scalar_constructs(loader, node):
                return False
        elif kind is yaml.MappingNode and node.tag == _MAP_TAG:
            for key, value in node.value:
                if key.__class__ is not yaml.ScalarNode:
                    return False  # a collection as a key is not hashable
                if key.tag != _STR_TAG and not _scalar_constructs(loader, key):
                    return False  # a merge key, or an explicit type
                if seen is not None:
                    push(key)
                push(value)
        elif kind is yaml.SequenceNode and node.tag == _SEQ_TAG:
            extend(node.value)
        else:
            return False
    return True


def _scalar_constructs(loader: _TolerantLoader, node: yaml.Node) -> bool:
    """An int, float, bool, null or timestamp scalar whose constructor accepts its value
    (a few the resolver types implicitly do not: ``0x_``, ``2020-13-45``; nor does an
    explicit ``!!int three``). Called on the constructor function itself, which keeps
    no state, so a failure here leaves the loader as it was for the whole construction."""
    if node.tag not in _TYPED_SCALAR_TAGS:
        return False
    try:
        loader.yaml_constructors[node.tag](loader, node)
    except (yaml.YAMLError, ValueError, TypeError):
        return False
    return True


def _construct_identity(loader: _TolerantLoader, root: yaml.MappingNode) -> Any:
    """The :data:`_IDENTITY_KEYS` of a :func:`_plain` document: the same mapping with only
    those pairs, constructed by PyYAML as the whole would be (the last of a repeated key
    wins)."""
    pairs = [(k, v) for k, v in root.value if k.tag == _STR_TAG and k.value in _IDENTITY_KEYS]
    identity = yaml.MappingNode(root.tag, pairs, root.start_mark, root.end_mark)
    return loader.construct_document(identity)


def _may_be_in_needle_scalar(text: bytes, backslash: int) -> bool:
    """Could the escape at ``backslash`` be part of a double-quoted scalar spelling a needle?

    Walks back towards the opening quote.  A needle-valued scalar holds only needle
    characters, escapes and escaped line breaks (plus the indentation after them); any
    other character on the way (a space mid-line, ``:``, an unescaped line break, which
    folds into a space) proves the scalar's value is not a needle.  Shell scripts in
    ConfigMaps end lines with `` \\`` and are cleared at once.  When the walk runs long,
    the answer is a conservative yes (the document is then parsed).
    """
    at = backslash
    for _ in range(_ESCAPE_WALK_LIMIT):
        at -= 1
        if at < 0:
            return False
        char = text[at]
        if char in _NEEDLE_BYTES or char == _BACKSLASH:
            continue
        if char == _QUOTE:
            escapes = 0
            while at - 1 - escapes >= 0 and text[at - 1 - escapes] == _BACKSLASH:
                escapes += 1
            return escapes % 2 == 0
        while char in _BLANKS and at > 0:
            at -= 1
            char = text[at]
        if char not in _BREAKS:
            return False
        if char == _LF and at > 0 and text[at - 1] == _CR:
            at -= 1
        if at == 0 or text[at - 1] != _BACKSLASH:
            return False
        at -= 1
    return True


def _anchor(needle: bytes) -> bytes:
    """A substring shared by many needles, else the needle itself.

    ``group/v1beta1`` is anchored on ``/v1beta``, so one memory search serves every beta
    group while plain words such as "beta" in prose do not trigger the slower check.
    """
    slash = needle.rfind(b"/")
    for stage in _STAGES:
        at = needle.find(stage, slash + 1)
        if slash >= 0 and at >= 0:
            return needle[slash : at + len(stage)]
    return needle


def _document_pieces(text: bytes) -> list[int]:
    """Start offsets of the pieces a file splits into at column-0 ``---`` markers.

    Only ``---`` starts a piece: libyaml rejects a stream that opens with ``...``, so a
    ``...`` end marker stays at the end of its document's piece.  ``bytes.find`` of
    ``\\n---`` beats a multi-line regex by an order of magnitude; the marker must be
    followed by a blank, a line end or the end of the file.
    """
    starts = [0]
    size, at = len(text), text.find(b"\n---")
    while at >= 0:
        after = at + 4
        if after == size or text[after] in _MARKER_FOLLOW:
            starts.append(at + 1)
        at = text.find(b"\n---", after)
    return starts


def manifest_objects(node: yaml.Node, obj: dict[Any, Any]) -> Iterator[tuple[yaml.Node, Any]]:
    """The document itself and, for ``kind: List`` / ``*List``, each mapping item."""
    yield node, obj
    kind, items = obj.get("kind"), obj.get("items")
    if not (isinstance(kind, str) and kind.endswith("List") and isinstance(items, list)):
        return
    items_node = _value_node(node, "items")
    item_nodes = items_node.value if isinstance(items_node, yaml.SequenceNode) else []
    for index, item in enumerate(items):
        if isinstance(item, dict):
            item_node = item_nodes[index] if index < len(item_nodes) else node
            yield item_node, item


def _value_node(node: yaml.Node, key: str) -> yaml.Node | None:
    """The value node of the last ``key`` in a mapping node (PyYAML keeps the last one)."""
    found = None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                found = value_node
    return found


def api_version_line(node: yaml.Node) -> int:
    """0-based line of the object's ``apiVersion`` key (the mapping's start if merged in)."""
    line = node.start_mark.line
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == "apiVersion":
                line = key_node.start_mark.line
    return line


def object_identity(manifest: dict[Any, Any]) -> tuple[str | None, str | None]:
    """``metadata.name`` and ``metadata.namespace`` as strings (None when absent)."""
    metadata = manifest.get("metadata")
    if not isinstance(metadata, dict):
        return None, None
    name, namespace = metadata.get("name"), metadata.get("namespace")
    return (
        None if name is None else str(name),
        None if namespace is None else str(namespace),
    )


def _yaml_problem(name: str, exc: Exception, line_base: int, fallback_line: int) -> ScanProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = line_base + mark.line + 1 if mark is not None else fallback_line
    detail = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {detail}" + (f" ({context})" if context else "")
    return ScanProblem(name, message + "; fix the syntax so the document can be checked", line)


def _too_large(name: str, size: int | None, limit: int) -> ScanProblem:
    size_text = f"{size} bytes" if size is not None else "more"
    return ScanProblem(
        name,
        f"file too large ({size_text} > limit {limit} bytes); skipped -- raise "
        "--max-file-size if it really is a manifest",
    )


# ---------------------------------------------------------------------- files and folders
def read_manifest(path: Path, max_size: int) -> tuple[bytes | None, ScanProblem | None]:
    """The file's bytes, or why it cannot be read (checked before reading it whole)."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if stat.S_ISDIR(info.st_mode):
                return None, ScanProblem(name, "is a directory where a file was expected")
            if info.st_size > max_size:
                return None, _too_large(name, info.st_size, max_size)
            data = handle.read(max_size + 1)
    except OSError as exc:
        return None, ScanProblem(name, f"cannot read file: {exc.strerror or exc}")
    if len(data) > max_size:
        return None, _too_large(name, None, max_size)
    return data, None


def iter_manifest_files(
    root: Path, suffixes: Sequence[str], seen: set[tuple[int, int]]
) -> Iterator[Path | ScanProblem | RenderRoot]:
    """Manifest files under ``root`` (or ``root`` itself), following symlinks safely.

    A regular file counts by its suffix whether named or met in a folder, so naming a
    `Jenkinsfile` or `notes.txt` gives what a folder scan gives (skipped, said as a
    warning) rather than a YAML error; pipes and devices (`<(helm template ...)`) are read
    whatever their name. A folder that is a Helm chart or a kustomization is yielded as a
    :class:`RenderRoot` and not walked (its templates are not YAML). Directories are
    tracked by device and inode, so a symlink that points back to an ancestor is reported
    as a loop instead of recursing forever, and a file reachable twice is scanned once (its
    findings would otherwise double).
    """
    try:
        info = root.stat()
    except OSError as exc:
        message = "symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
        yield ScanProblem(str(root), f"cannot read path: {message}")
        return
    if not stat.S_ISDIR(info.st_mode):
        if stat.S_ISREG(info.st_mode) and not root.name.lower().endswith(tuple(suffixes)):
            yield ScanProblem(
                str(root),
                f"not scanned: not a manifest file name ({', '.join(suffixes)}), as in a "
                f"folder scan; rename it or pipe it in (`ekslift scan - < {root}`)",
                level="warning",
            )
        elif _first_visit(info, seen):
            yield root
        return
    yield from _walk(root, suffixes, seen, ancestors=())


def _first_visit(info: os.stat_result, seen: set[tuple[int, int]]) -> bool:
    key = (info.st_dev, info.st_ino)
    if key in seen:
        return False
    seen.add(key)
    return True


def _walk(
    directory: Path,
    suffixes: Sequence[str],
    seen: set[tuple[int, int]],
    ancestors: tuple[tuple[int, int], ...],
) -> Iterator[Path | ScanProblem | RenderRoot]:
    info = directory.stat()
    key = (info.st_dev, info.st_ino)
    if key in ancestors:
        yield ScanProblem(str(directory), "symlink loop: this folder links back to an ancestor")
        return
    if not _first_visit(info, seen):
        return
    found = render_root(directory)
    if found is not None:
        yield found
        return
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        yield ScanProblem(str(directory), f"cannot list folder: {exc.strerror or exc}")
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_dir = entry.is_dir(follow_symlinks=True)
        except OSError:
            is_dir = False
        if is_dir:
            try:
                yield from _walk(path, suffixes, seen, (*ancestors, key))
            except OSError as exc:
                yield ScanProblem(str(path), f"cannot read folder: {exc.strerror or exc}")
            continue
        if not entry.name.lower().endswith(tuple(suffixes)):
            continue
        try:
            file_info = path.stat()
        except OSError as exc:
            message = "symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
            yield ScanProblem(str(path), f"cannot read file: {message}")
            continue
        if _first_visit(file_info, seen):
            yield path


def scan_manifests(
    paths: Sequence[str],
    facts: FactSet,
    targets: Targets,
    options: ScanOptions | None = None,
    stdin: BinaryIO | None = None,
) -> FileScanResult:
    """Convenience wrapper: one scanner, one call."""
    return ManifestScanner(facts, targets, options).scan_paths(paths, stdin=stdin)
