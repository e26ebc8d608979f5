"""Differential test: the fast scanner's findings equal a full PyYAML parse's, line for line.

The corpus is generated from a fixed seed and deliberately mixes the constructs that could
fool a byte-level prefilter: comments and block scalars quoting apiVersion lines, quoted and
escape-spelled values, escaped line breaks, anchors and aliases, merge keys, flow and JSON
documents, Lists, explicit ``...`` ends, directives, CRLF and BOM files, empty documents.
"""

from __future__ import annotations

import json
import random

import pytest

from ekslift.apiscan.facts import Targets, load_facts
from ekslift.apiscan.manifests import ManifestScanner, ScanOptions

from .reference import reference_scan

SEED = 1729
APIS = [
    ("policy/v1beta1", "PodDisruptionBudget"),
    ("policy/v1", "PodDisruptionBudget"),
    ("policy/v1beta1", "PodSecurityPolicy"),
    ("extensions/v1beta1", "Ingress"),
    ("extensions/v1beta1", "Deployment"),
    ("networking.k8s.io/v1", "Ingress"),
    ("apps/v1", "Deployment"),
    ("apps/v1beta2", "StatefulSet"),
    ("batch/v1beta1", "CronJob"),
    ("batch/v1", "CronJob"),
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration"),
    ("flowcontrol.apiserver.k8s.io/v1", "FlowSchema"),
    ("rbac.authorization.k8s.io/v1beta1", "ClusterRole"),
    ("v1", "Endpoints"),
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("cert-manager.io/v1alpha2", "Certificate"),
    ("karpenter.sh/v1beta1", "NodePool"),
    ("gateway.networking.k8s.io/v1beta1", "HTTPRoute"),
    ("networking.istio.io/v1alpha3", "VirtualService"),
    ("authentication.istio.io/v1alpha1", "Policy"),
]


def _quote(rng: random.Random, value: str) -> str:
    style = rng.random()
    if style < 0.6:
        return value
    if style < 0.8:
        return f"'{value}'"
    if style < 0.9:
        return f'"{value}"'
    # Double-quoted with an escape that spells a character of the value.
    if "/" in value:
        return '"' + value.replace("/", rng.choice(["\\/", "\\x2f", "\\u002F"]), 1) + '"'
    return '"' + value[0] + "\\x" + format(ord(value[1]), "02x") + value[2:] + '"'


def _block_doc(rng: random.Random, api: str, kind: str, index: int) -> str:
    name = rng.choice([f"obj-{index}", f"'obj {index}'", str(index), f'"obj-{index}"'])
    ns = rng.choice(["", f"  namespace: ns-{index % 7}\n", "  namespace: null\n"])
    head = [f"apiVersion: {_quote(rng, api)}", f"kind: {_quote(rng, kind)}"]
    if rng.random() < 0.3:
        head.reverse()
    comment = rng.choice(["", "# apiVersion: extensions/v1beta1\n", "  # kind: Ingress\n"])
    body = rng.choice(
        [
            "spec:\n  replicas: 2\n",
            # A ConfigMap-like block scalar holding a fake manifest.
            "data:\n  manifest.yaml: |\n    apiVersion: policy/v1beta1\n    kind: "
            "PodDisruptionBudget\n    ---\n    apiVersion: batch/v1beta1\n",
            "data:\n  script: >\n    kubectl get pdb \\\n      -o yaml  # policy/v1beta1\n",
            "spec:\n  scaleTargetRef: {apiVersion: extensions/v1beta1, kind: Deployment}\n",
            'spec:\n  note: "beta and alpha words, a \\\\ backslash and \\"quotes\\""\n',
        ]
    )
    return "\n".join(head) + "\n" + comment + f"metadata:\n  name: {name}\n{ns}" + body


def _flow_doc(rng: random.Random, api: str, kind: str, index: int) -> str:
    if rng.random() < 0.5:
        return f"{{apiVersion: {api}, kind: {kind}, metadata: {{name: flow-{index}}}}}\n"
    return (
        json.dumps(
            {"kind": kind, "apiVersion": api, "metadata": {"name": f"json-{index}"}}, indent=2
        )
        + "\n"
    )


def _list_doc(rng: random.Random, index: int) -> str:
    items = []
    for i in range(rng.randint(0, 4)):
        api, kind = rng.choice(APIS)
        items.append(
            f"  - apiVersion: {api}\n    kind: {kind}\n"
            f"    metadata:\n      name: item-{index}-{i}\n"
        )
    list_kind = rng.choice(["List", "RoleBindingList", "ConfigMapList"])
    list_api = rng.choice(["v1", "rbac.authorization.k8s.io/v1beta1"])
    return (
        f"apiVersion: {list_api}\nkind: {list_kind}\nitems:\n"
        + "".join(items)
        + ("" if items else "  []\n")
    )


def _tricky_doc(rng: random.Random, index: int) -> str:
    choice = rng.randrange(6)
    if choice == 0:  # anchor and alias
        return (
            f"x-version: &v policy/v1beta1\napiVersion: *v\nkind: PodDisruptionBudget\n"
            f"metadata: {{name: alias-{index}}}\n"
        )
    if choice == 1:  # merge key supplies apiVersion
        return (
            "base: &b {apiVersion: batch/v1beta1, kind: CronJob}\n"
            f"<<: *b\nmetadata: {{name: merged-{index}}}\n"
        )
    if choice == 2:  # escaped line break joins the value
        return (
            f'apiVersion: "extensions/\\\n   v1beta1"\nkind: Ingress\n'
            f"metadata: {{name: joined-{index}}}\n"
        )
    if choice == 3:  # not a string
        return f"apiVersion: 1.0\nkind: Ingress\nmetadata: {{name: num-{index}}}\n"
    if choice == 4:  # duplicate keys: the last one counts
        return (
            "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\n"
            f"apiVersion: policy/v1\nmetadata: {{name: dup-{index}}}\n"
        )
    return "# only a comment\n"


def _document(rng: random.Random, index: int) -> str:
    roll = rng.random()
    api, kind = rng.choice(APIS)
    if roll < 0.55:
        return _block_doc(rng, api, kind, index)
    if roll < 0.7:
        return _flow_doc(rng, api, kind, index)
    if roll < 0.8:
        return _list_doc(rng, index)
    if roll < 0.95:
        return _tricky_doc(rng, index)
    return ""


def generate_corpus(files: int = 160, seed: int = SEED) -> dict[str, bytes]:
    rng = random.Random(seed)
    corpus: dict[str, bytes] = {}
    for number in range(files):
        docs = [_document(rng, number * 100 + i) for i in range(rng.randint(1, 40))]
        parts = []
        for i, doc in enumerate(docs):
            if i:
                parts.append(rng.choice(["---\n", "---\n", "--- # next\n", "...\n---\n"]))
            elif rng.random() < 0.5 or not doc.strip() or doc.startswith("#"):
                parts.append("---\n")  # a stream may not open with "...", nor end nothing
            if rng.random() < 0.2:
                parts.append("# Source: chart/templates/x.yaml\n")
            parts.append(doc)
        text = "".join(parts)
        if rng.random() < 0.05:
            text = "%YAML 1.1\n---\n" + text
        data = text.encode()
        if rng.random() < 0.2:
            data = data.replace(b"\n", b"\r\n")
        if rng.random() < 0.1:
            data = b"\xef\xbb\xbf" + data
        corpus[f"file-{number:03d}.yaml"] = data
    return corpus


def _fast_rows(scanner: ManifestScanner, corpus: dict[str, bytes]) -> list[tuple]:
    rows = []
    for name, data in corpus.items():
        result = scanner.scan_bytes(data, name)
        assert not [p for p in result.problems if p.level == "error"], result.problems
        rows += [
            (f.file, f.line, f.api_version, f.kind, f.name, f.namespace, f.rule, f.status)
            for f in result.sightings
        ]
    return sorted(rows)


@pytest.mark.parametrize("target", ["1.18", "1.25", "1.29", "1.33"])
def test_fast_scan_equals_full_parse(target: str) -> None:
    facts = load_facts()
    targets = Targets(facts.parse_target(target))
    corpus = generate_corpus()
    expected = reference_scan(corpus, facts, targets)
    assert len(expected) > 200  # the corpus really exercises the facts
    assert _fast_rows(ManifestScanner(facts, targets), corpus) == expected
    assert _fast_rows(ManifestScanner(facts, targets, ScanOptions(strict=True)), corpus) == (
        expected
    )


def test_corpus_exercises_the_tricky_paths() -> None:
    """Guard against a generator change that silently drops the hard cases."""
    corpus = b"".join(generate_corpus().values())
    for construct in (b"\\x2f", b"\\/", b"\\\n", b"*v", b"<<:", b"\r\n", b"%YAML", b"\n...\n"):
        assert construct in corpus, construct
