"""What a proposed bump changes: default values, the team's values, rendered objects, and
what the chart itself says changed.

Nothing of a value reaches the result, only key paths: default values are compared by key
path; user values are checked against the new chart's keys and its `values.schema.json`
(the key path and the rule that failed, never the value); rendered objects are compared per
object with Secret data reduced to per-key hashes, so "the password changed" can be said
without showing either password.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from ekslift.chartdiff.models import ChartDiff, ObjectChange, key_paths
from ekslift.chartdiff.repos import ChartEntry
from ekslift.chartdiff.versions import chart_version
from ekslift.charts.values import deep_merge

_VOLATILE_LABELS = ("helm.sh/chart", "app.kubernetes.io/version")
_CHANGELOG = re.compile(r"^(?:[^/]+/)CHANGELOG(?:\.md)?$", re.IGNORECASE)
_HEADING_VERSION = re.compile(r"v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)")
_CHANGELOG_LINES = 40
_FIELDS_SHOWN = 8


@dataclass(frozen=True)
class ChartFiles:
    """What a chart archive says about itself: defaults, schema, declared changes."""

    values: dict[str, Any]
    schema: dict[str, Any] | None
    changelog: str
    problems: tuple[str, ...] = ()


def read_chart_files(archive: Path) -> ChartFiles:
    """values.yaml, values.schema.json and CHANGELOG(.md) at the chart's root."""
    values: dict[str, Any] = {}
    schema: dict[str, Any] | None = None
    changelog = ""
    problems: list[str] = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/")
            if len(parts) != 2 or not member.isfile():
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            data = handle.read()
            if parts[1] == "values.yaml":
                try:
                    loaded = yaml.safe_load(data)
                except yaml.YAMLError:
                    problems.append(f"{archive.name}: values.yaml is not valid YAML")
                    loaded = None
                values = loaded if isinstance(loaded, dict) else {}
            elif parts[1] == "values.schema.json":
                try:
                    schema = json.loads(data)
                except ValueError:
                    problems.append(f"{archive.name}: values.schema.json is not valid JSON")
            elif _CHANGELOG.match(member.name):
                changelog = data.decode("utf-8", errors="replace")
    return ChartFiles(values, schema, changelog, tuple(problems))


def _leaves(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            out.update(_leaves(value, path))
        else:
            out[path] = value
    return out


def defaults_diff(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[list[str], list[str], list[str]]:
    """Default values added, removed and changed, as key paths."""
    before, after = _leaves(old), _leaves(new)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    return added, removed, changed


def user_keys_removed(
    user: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[str]:
    """Keys the team set that the old chart had and the new one no longer has: they would be
    silently ignored (helm does not complain about unknown values)."""
    before, after = set(key_paths(old)), set(key_paths(new))

    def known(path: str, keys: set[str]) -> bool:
        return path in keys or any(k.startswith(path + ".") for k in keys)

    return sorted(p for p in key_paths(user) if known(p, before) and not known(p, after))


def _rule(error: jsonschema.ValidationError) -> str:
    """The failed rule, from the schema's side only: never the instance's value."""
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = set(
            (error.schema.get("properties") or {}) if isinstance(error.schema, Mapping) else ()
        )
        extra = sorted(str(k) for k in error.instance if k not in allowed)
        return f"additionalProperties: {', '.join(extra)} not allowed"
    if error.validator == "required" and isinstance(error.instance, Mapping):
        required = error.validator_value if isinstance(error.validator_value, list) else []
        missing = [str(k) for k in required if k not in error.instance]
        return f"required: {', '.join(missing)}"
    value = json.dumps(error.validator_value, default=str)
    if len(value) > 80:
        value = value[:77] + "..."
    return f"{error.validator}: {value}"


def schema_errors(
    schema: Mapping[str, Any], defaults: Mapping[str, Any], user: Mapping[str, Any]
) -> list[str]:
    """The user's values merged over the chart's defaults (what helm validates), checked
    against `values.schema.json`: `key.path: rule` lines."""
    try:
        validator_class = jsonschema.validators.validator_for(dict(schema))
        validator_class.check_schema(dict(schema))
    except jsonschema.SchemaError as exc:
        return [f"(schema): values.schema.json is not a valid schema ({exc.message[:80]})"]
    validator = validator_class(schema)
    errors = []
    for error in validator.iter_errors(deep_merge(defaults, user)):
        path = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        errors.append(f"{path}: {_rule(error)}")
    return sorted(set(errors))


def _digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:12]


def _comparable(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An object as compared: Secret data hashed per key, labels that change with every
    chart version (`helm.sh/chart`, `app.kubernetes.io/version`) left out."""
    data = json.loads(json.dumps(obj, default=str))
    if data.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if isinstance(data.get(key), dict):
                data[key] = {k: _digest(v) for k, v in data[key].items()}

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            labels = node.get("labels")
            if isinstance(labels, dict):
                for label in _VOLATILE_LABELS:
                    labels.pop(label, None)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(data)
    return data


def _images(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "image" and isinstance(value, str):
                found.add(value)
            else:
                found |= _images(value)
    elif isinstance(node, list):
        for value in node:
            found |= _images(value)
    return found


def _identity(obj: Mapping[str, Any], namespace: str) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (
        str(obj.get("kind", "")),
        str(meta.get("namespace") or namespace),
        str(meta.get("name", "")),
    )


def _changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    before, after = _leaves(old), _leaves(new)
    paths = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    # Shown at depth 3 (spec.template.spec): enough to say where, never a value.
    return sorted({".".join(p.split(".")[:3]) for p in paths if not p.startswith("apiVersion")})


def object_changes(
    current: Iterable[Mapping[str, Any]], proposed: Iterable[Mapping[str, Any]], namespace: str
) -> list[ObjectChange]:
    """Per rendered object: added, removed, or changed (apiVersion, images, which fields)."""
    before = {_identity(o, namespace): o for o in current}
    after = {_identity(o, namespace): o for o in proposed}
    changes = []
    for ident in sorted(set(before) | set(after)):
        kind, ns, name = ident
        old, new = before.get(ident), after.get(ident)
        if old is None and new is not None:
            changes.append(ObjectChange(kind, ns, name, "added", str(new.get("apiVersion", ""))))
        elif new is None and old is not None:
            changes.append(
                ObjectChange(kind, ns, name, "removed", "", str(old.get("apiVersion", "")))
            )
        elif old is not None and new is not None:
            a, b = _comparable(old), _comparable(new)
            if a == b:
                continue
            old_images, new_images = _images(old), _images(new)
            images = tuple(
                f"{x} -> {y}"
                for x, y in zip(
                    sorted(old_images - new_images), sorted(new_images - old_images), strict=False
                )
            )
            fields = _changed_fields(a, b)
            changes.append(
                ObjectChange(
                    kind,
                    ns,
                    name,
                    "changed",
                    str(new.get("apiVersion", "")),
                    str(old.get("apiVersion", "")),
                    images,
                    tuple(fields[:_FIELDS_SHOWN]) + (("…",) if len(fields) > _FIELDS_SHOWN else ()),
                )
            )
    return changes


def _in_range(text: str, current: str, proposed: str) -> bool:
    low, high, version = chart_version(current), chart_version(proposed), chart_version(text)
    if version is None or high is None:
        return False
    return (low is None or version > low) and version <= high


def declared_changes(
    entries: Iterable[ChartEntry], changelog: str, current: str, proposed: str
) -> list[str]:
    """`artifacthub.io/changes` of every version in (current, proposed], then the chart's
    CHANGELOG sections for those versions (first lines only)."""
    lines: list[str] = []
    for entry in sorted(
        (e for e in entries if _in_range(e.version, current, proposed)),
        key=lambda e: chart_version(e.version),  # type: ignore[arg-type,return-value]
    ):
        if not entry.changes:
            continue
        try:
            items = yaml.safe_load(entry.changes)
        except yaml.YAMLError:
            items = [entry.changes]
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, Mapping):
                lines.append(
                    f"{entry.version}: {item.get('kind', 'changed')}: {item.get('description', '')}"
                )
            elif item:
                lines.append(f"{entry.version}: {item}")
    keep = False
    taken = 0
    for line in changelog.splitlines():
        if line.startswith("#"):
            found = _HEADING_VERSION.search(line)
            keep = bool(found) and _in_range(found.group(1), current, proposed)  # type: ignore[union-attr]
        if keep and line.strip() and taken < _CHANGELOG_LINES:
            lines.append(f"CHANGELOG: {line.strip()}")
            taken += 1
    return lines


def build_diff(
    current: str,
    proposed: str,
    old: ChartFiles | None,
    new: ChartFiles,
    user: Mapping[str, Any],
    objects: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None,
    namespace: str,
) -> ChartDiff:
    """The diff of one bump; `objects` is (current render, proposed render) at the target,
    None when the current version's render was not available."""
    diff = ChartDiff(current, proposed)
    diff.problems += list(new.problems)
    if old is not None:
        diff.problems += list(old.problems)
        added, removed, changed = defaults_diff(old.values, new.values)
        diff.defaults_added, diff.defaults_removed, diff.defaults_changed = added, removed, changed
        diff.user_keys_removed = user_keys_removed(user, old.values, new.values)
    if new.schema is not None:
        diff.schema_errors = schema_errors(new.schema, new.values, user)
    if objects is not None:
        diff.objects = object_changes(objects[0], objects[1], namespace)
    return diff
