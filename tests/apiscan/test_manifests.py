"""The file scanner on good and bad input: every bad-input case has its own test."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

from ekslift.apiscan.facts import Targets, load_facts
from ekslift.apiscan.manifests import (
    FileScanResult,
    ManifestScanner,
    ScanOptions,
    _TolerantLoader,
)

PDB = "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\n"
OK = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n"


def scanner(strict: bool = False, max_size: int = 1 << 20) -> ManifestScanner:
    facts = load_facts()
    return ManifestScanner(
        facts, Targets(Version("1.29")), ScanOptions(strict=strict, max_file_size=max_size)
    )


def scan_text(text: str | bytes, strict: bool = False) -> FileScanResult:
    data = text.encode() if isinstance(text, str) else text
    return scanner(strict).scan_bytes(data, "m.yaml")


def lines(result: FileScanResult) -> list[tuple[str | None, int | None]]:
    return [(f.name, f.line) for f in result.sightings]


def test_finds_objects_with_line_of_api_version() -> None:
    result = scan_text(f"# comment\n---\n{OK}---\nkind: X\n{PDB}")  # last "kind" wins
    assert lines(result) == [("web", 9)]
    sighting = result.sightings[0]
    assert (sighting.status, sighting.replacement, sighting.source) == (
        "removed",
        "policy/v1",
        "file",
    )


def test_block_scalar_with_manifest_text_is_not_a_finding() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n  x: |\n    " + (
        PDB.replace("\n", "\n    ")
    )
    result = scan_text(text)
    assert result.sightings == [] and result.problems == []
    assert result.documents_parsed == 1  # the needle made it a candidate; the parse cleared it


def test_list_items_expanded_with_their_lines() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "  - apiVersion: batch/v1beta1\n    kind: CronJob\n    metadata: {name: a}\n"
        "  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {name: b}\n"
        "  - apiVersion: policy/v1beta1\n    kind: PodDisruptionBudget\n"
        "    metadata: {name: c, namespace: n}\n"
    )
    assert lines(scan_text(text)) == [("a", 4), ("c", 10)]


def test_flow_and_json_documents(tmp_path: Path) -> None:
    flow = scan_text("{apiVersion: policy/v1beta1, kind: PodDisruptionBudget, metadata: {name: f}}")
    assert lines(flow) == [("f", 1)]
    js = tmp_path / "x.json"
    js.write_text(
        '{\n  "kind": "CronJob",\n  "apiVersion": "batch/v1beta1",\n'
        '  "metadata": {"name": "j"}\n}\n'
    )
    result = scanner().scan_paths([str(tmp_path)])
    assert lines(result) == [("j", 3)]


def test_escape_spelled_api_version_is_found() -> None:
    text = 'apiVersion: "policy\\x2fv1beta1"\nkind: PodDisruptionBudget\nmetadata: {name: e}\n'
    assert lines(scan_text(text)) == [("e", 1)]
    joined = 'apiVersion: "policy/\\\n  v1beta1"\nkind: PodDisruptionBudget\nmetadata: {name: j}\n'
    assert lines(scan_text(joined)) == [("j", 1)]


def test_unparsable_yaml_is_reported_and_scan_goes_on() -> None:
    text = f"{PDB}  bad: [unclosed\n---\n{PDB.replace('web', 'next')}"
    result = scan_text(text)
    assert lines(result) == [("next", 7)]
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.level == "error" and problem.line == 6 and "invalid YAML" in problem.message


def test_syntax_error_in_a_document_without_needle_needs_strict() -> None:
    text = f"{OK}  bad: [unclosed\n---\n{PDB}"
    assert scan_text(text).problems == []  # cannot change any finding: not looked for
    strict = scan_text(text, strict=True)
    assert [p.line for p in strict.problems] == [6]
    assert lines(strict) == [("web", 7)]


@pytest.mark.parametrize("tag", ["!!string", "!Ref"])
def test_unknown_tags_are_warnings_and_the_object_is_scanned(tag: str) -> None:
    text = f"{PDB}  namespace: {tag} prod\n"
    result = scan_text(text)
    assert [(f.name, f.namespace) for f in result.sightings] == [("web", "prod")]
    assert [(p.level, p.line) for p in result.problems] == [("warning", 5)]
    assert tag.lstrip("!") in result.problems[0].message


def test_utf8_bom_keeps_line_numbers() -> None:
    result = scan_text(b"\xef\xbb\xbf" + f"{OK}---\n{PDB}".encode())
    assert lines(result) == [("web", 6)] and result.problems == []


def test_utf16_with_bom() -> None:
    result = scan_text(f"{OK}---\n{PDB}".encode("utf-16"))
    assert lines(result) == [("web", 6)]


def test_crlf_line_ends() -> None:
    result = scan_text(f"{OK}---\n{PDB}".replace("\n", "\r\n"))
    assert lines(result) == [("web", 6)] and result.problems == []


def test_lone_cr_line_ends_are_parsed_whole() -> None:
    result = scan_text(f"{OK}---\n{PDB}".replace("\n", "\r"))
    assert lines(result) == [("web", 6)] and result.files_parsed_whole == 1


def test_directives_are_parsed_whole() -> None:
    result = scan_text(f"%YAML 1.1\n---\n{OK}---\n{PDB}")
    assert lines(result) == [("web", 8)] and result.files_parsed_whole == 1


def test_empty_documents_are_fine() -> None:
    result = scan_text(f"---\n---\n# Source: empty.yaml\n---\n{PDB}---\n", strict=True)
    assert lines(result) == [("web", 5)] and result.problems == []


def test_document_that_is_not_a_mapping() -> None:
    result = scan_text(f"- policy/v1beta1\n- PodDisruptionBudget\n---\n{PDB}")
    assert lines(result) == [("web", 4)]
    assert [(p.line, p.level) for p in result.problems] == [(1, "error")]
    assert "not a mapping" in result.problems[0].message


def test_binary_file() -> None:
    result = scan_text(b"\x89PNG\r\n\x1a\n\x00\x00policy/v1beta1")
    assert result.sightings == []
    assert "binary" in result.problems[0].message and result.problems[0].line == 3


def test_not_utf8() -> None:
    result = scan_text(b"apiVersion: v1\nkind: \xff\xfe\n")
    assert "not UTF-8" in result.problems[0].message and result.problems[0].line == 2


def test_huge_file_is_skipped_and_reported(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text(PDB * 100)
    result = scanner(max_size=1000).scan_paths([str(big)])
    assert result.sightings == []
    assert "too large" in result.problems[0].message and result.problems[0].file == str(big)


def test_symlink_loop_in_folders(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "pdb.yaml").write_text(PDB)
    os.symlink(tmp_path, tmp_path / "a" / "back")
    result = scanner().scan_paths([str(tmp_path)])
    assert lines(result) == [("web", 1)]
    assert any("symlink loop" in p.message for p in result.problems)


def test_self_referencing_symlink_file(tmp_path: Path) -> None:
    os.symlink(tmp_path / "self.yaml", tmp_path / "self.yaml")
    (tmp_path / "ok.yaml").write_text(PDB)
    result = scanner().scan_paths([str(tmp_path)])
    assert lines(result) == [("web", 1)]
    assert [p.file for p in result.problems] == [str(tmp_path / "self.yaml")]
    assert "symlink loop" in result.problems[0].message


def test_unreadable_file(tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone.yaml", tmp_path / "dangling.yaml")
    (tmp_path / "ok.yaml").write_text(PDB)
    result = scanner().scan_paths([str(tmp_path)])
    assert lines(result) == [("web", 1)]
    assert [p.file for p in result.problems] == [str(tmp_path / "dangling.yaml")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_file_without_read_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked.yaml"
    locked.write_text(PDB)
    locked.chmod(0)
    result = scanner().scan_paths([str(locked)])
    assert "cannot read" in result.problems[0].message


def test_folder_walk_filters_suffixes_and_dedupes(tmp_path: Path) -> None:
    (tmp_path / "pdb.yml").write_text(PDB)
    (tmp_path / "notes.txt").write_text(PDB)
    os.symlink(tmp_path / "pdb.yml", tmp_path / "alias.yaml")
    result = scanner().scan_paths([str(tmp_path), str(tmp_path / "pdb.yml")])
    assert len(result.sightings) == 1


def test_stdin() -> None:
    result = scanner().scan_paths(["-"], stdin=io.BytesIO(PDB.encode()))
    assert [(f.file, f.line) for f in result.sightings] == [("<stdin>", 1)]


def test_stdin_too_large() -> None:
    result = scanner(max_size=10).scan_paths(["-"], stdin=io.BytesIO(PDB.encode()))
    assert "too large" in result.problems[0].message


_REMOVED = """apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: web, namespace: photos}
spec:
  template:
    spec:
"""


@pytest.mark.parametrize(
    ("deep", "why"),
    [
        ("      replicas: !!int three\n", "invalid literal"),
        ("      created: 2020-13-45\n", "month"),
        ("      ? {a: 1}\n      : unhashable\n", "unhashable"),
        ("      <<: 5\n", "expected a mapping"),
        ("      mask: 0x_\n", "invalid literal"),
        ("      labels: !!str {a: 1}\n", "expected a scalar"),
    ],
)
def test_a_removed_api_document_that_fails_to_construct_is_a_problem_not_a_finding(
    deep: str, why: str
) -> None:
    """Only the identity of a finding is constructed when the document is plain; one that
    a whole construction would reject, however deep, is rejected as before."""
    result = scan_text(_REMOVED + deep)
    assert result.sightings == []
    assert [p.level for p in result.problems] == ["error"], result.problems
    assert why in result.problems[0].message


@pytest.mark.parametrize(
    "document",
    [
        # the last of a repeated key wins, as in a whole construction
        "apiVersion: apps/v1\n" + _REMOVED + "      replicas: 3\n",
        # an alias and a merge key: constructed whole
        "m: &m {name: web, namespace: photos}\n"
        "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: *m\n",
        "apiVersion: extensions/v1beta1\nkind: Deployment\n"
        "metadata: {<<: {name: web}, namespace: photos}\n",
        # explicit but valid types, and an unknown tag (a warning)
        _REMOVED + "      replicas: !!int '3'\n      port: !!float 8080\n      x: !Ref y\n",
        _REMOVED + "      at: 2026-11-29\n      on: yes\n      none: ~\n      ratio: .5\n",
    ],
)
def test_plain_and_whole_construction_find_the_same_object(document: str) -> None:
    found = scan_text(document).sightings
    assert [(s.api_version, s.kind, s.name, s.namespace) for s in found] == [
        ("extensions/v1beta1", "Deployment", "web", "photos")
    ]
    assert found == scan_text(document, strict=True).sightings


def test_a_plain_document_is_not_constructed_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the plain path: a large Deployment's spec is never built in Python."""

    construct = _TolerantLoader.construct_document

    def only_identity(loader: _TolerantLoader, node: yaml.Node) -> object:
        if any(key.value == "spec" for key, _ in node.value):
            pytest.fail("a plain document was constructed whole")
        return construct(loader, node)

    monkeypatch.setattr(_TolerantLoader, "construct_document", only_identity)
    found = scan_text(_REMOVED + "      containers: [{name: web, image: 'web:1'}]\n").sightings
    assert [(s.kind, s.name) for s in found] == [("Deployment", "web")]
