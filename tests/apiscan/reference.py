"""A plain reference scan: parse every document of every file with PyYAML, no shortcuts.

The differential test holds the fast scanner to this.  It shares nothing with
``ekslift.apiscan.manifests`` except the facts themselves (and their severity rule).
"""

from __future__ import annotations

from typing import Any

import yaml

from ekslift.apiscan.facts import ApiFact, FactSet, Targets

Row = tuple[str, int, str, str, str | None, str | None, str, str]


def _key_line(node: yaml.Node) -> int:
    line = node.start_mark.line
    if isinstance(node, yaml.MappingNode):
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "apiVersion":
                line = key.start_mark.line
    return line + 1


def _items_node(node: yaml.Node) -> list[yaml.Node]:
    found: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == "items":
                found = value.value if isinstance(value, yaml.SequenceNode) else []
    return found


def _lookup(facts: FactSet, api: Any, kind: Any) -> ApiFact | None:
    table = {(f.group_version, f.kind): f for f in facts.facts}
    if not isinstance(api, str):
        return None
    if isinstance(kind, str) and (api, kind) in table:
        return table[(api, kind)]
    return table.get((api, None))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def reference_scan(files: dict[str, bytes], facts: FactSet, targets: Targets) -> list[Row]:
    rows: list[Row] = []
    for name, data in files.items():
        loader = yaml.CSafeLoader(data)
        try:
            while loader.check_node():
                node = loader.get_node()
                doc = loader.construct_document(node)
                if not isinstance(doc, dict):
                    continue
                objects = [(node, doc)]
                kind, items = doc.get("kind"), doc.get("items")
                if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
                    item_nodes = _items_node(node)
                    objects += [
                        (item_nodes[i], item)
                        for i, item in enumerate(items)
                        if isinstance(item, dict)
                    ]
                for obj_node, obj in objects:
                    fact = _lookup(facts, obj.get("apiVersion"), obj.get("kind"))
                    if fact is None:
                        continue
                    status = fact.severity_at(targets.for_component(fact.component))
                    if status is None:
                        continue
                    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
                    rows.append(
                        (
                            name,
                            _key_line(obj_node),
                            obj["apiVersion"],
                            obj.get("kind") if isinstance(obj.get("kind"), str) else "",
                            _text(meta.get("name")),
                            _text(meta.get("namespace")),
                            fact.id,
                            status,
                        )
                    )
        finally:
            loader.dispose()
    return sorted(rows)
