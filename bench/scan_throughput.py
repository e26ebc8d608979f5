"""Throughput of the fast manifest scanner against PyYAML's C loader on the same bytes.

Generates (deterministically) >= 30 MB of manifests shaped like ``helm template`` output --
Deployments with large pod specs, ConfigMaps with big data (dashboards, configs, shell
scripts), CRDs with large schemas, Services, RBAC, HPAs, PDBs, a few objects on removed
APIs -- then, in the same run and best of N:

* ``yaml.load_all(..., Loader=yaml.CSafeLoader)`` of every file (the full parse);
* ``ManifestScanner.scan_bytes`` of every file (the fast scan);

and checks that the fast scan's findings equal those derived from the full parse (and,
line numbers included, those of the scanner's ``strict`` mode, which parses everything).

Usage: ``.venv/bin/python bench/scan_throughput.py [--mb 32] [--repeat 3] [--target 1.32]
[--dense 0.5]`` (``--dense``: that share of the Deployments on a removed API, so the fast
scan parses them in full: the dense case, beside the default sparse one)
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable

import yaml

from ekslift.apiscan.facts import FactSet, Targets, load_facts
from ekslift.apiscan.manifests import ManifestScanner, ScanOptions, object_identity

WORDS = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
    "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
)  # fmt: skip


def _word(rng: random.Random) -> str:
    return rng.choice(WORDS)


def _labels(app: str, chart: str, indent: str) -> str:
    return (
        f"{indent}app.kubernetes.io/name: {app}\n"
        f"{indent}app.kubernetes.io/instance: {app}\n"
        f'{indent}helm.sh/chart: "{chart}-1.2.3"\n'
        f"{indent}app.kubernetes.io/managed-by: Helm\n"
    )


def deployment(
    rng: random.Random, app: str, chart: str, ns: str, api_version: str = "apps/v1"
) -> str:
    containers = []
    for c in range(rng.randint(1, 3)):
        env = "".join(
            f"            - name: {_word(rng).upper()}_{i}\n"
            f'              value: "{_word(rng)}-{rng.randint(0, 99999)}"\n'
            for i in range(rng.randint(10, 40))
        )
        containers.append(
            f"""        - name: {app}-{c}
          image: "registry.example.com/{app}:{rng.randint(1, 9)}.{rng.randint(0, 30)}.0"
          imagePullPolicy: IfNotPresent
          args: ["--port=8080", "--log-level=info", "--metrics"]
          ports:
            - name: http
              containerPort: 8080
              protocol: TCP
          env:
{env}          resources:
            limits: {{cpu: 500m, memory: 512Mi}}
            requests: {{cpu: 100m, memory: 128Mi}}
          livenessProbe:
            httpGet: {{path: /healthz, port: http}}
            initialDelaySeconds: 10
          readinessProbe:
            httpGet: {{path: /readyz, port: http}}
          volumeMounts:
            - name: config
              mountPath: /etc/{app}
              readOnly: true
          securityContext:
            runAsNonRoot: true
            readOnlyRootFilesystem: true
            capabilities: {{drop: [ALL]}}
"""
        )
    return f"""---
# Source: {chart}/templates/deployment.yaml
apiVersion: {api_version}
kind: Deployment
metadata:
  name: {app}
  namespace: {ns}
  labels:
{_labels(app, chart, "    ")}  annotations:
    checksum/config: "{rng.getrandbits(128):032x}"
spec:
  replicas: {rng.randint(2, 12)}
  selector:
    matchLabels:
      app.kubernetes.io/name: {app}
  template:
    metadata:
      labels:
{_labels(app, chart, "        ")}    spec:
      serviceAccountName: {app}
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
            - weight: 100
              podAffinityTerm:
                topologyKey: topology.kubernetes.io/zone
                labelSelector:
                  matchLabels: {{app.kubernetes.io/name: {app}}}
      containers:
{"".join(containers)}      volumes:
        - name: config
          configMap:
            name: {app}-config
"""


def configmap(rng: random.Random, app: str, chart: str, ns: str) -> str:
    style = rng.random()
    if style < 0.4:
        panels = [
            {
                "id": i,
                "type": "timeseries",
                "title": f"{_word(rng)} {_word(rng)}",
                "targets": [{"expr": f'sum(rate(http_requests_total{{app="{app}"}}[5m]))'}],
                "gridPos": {"h": 8, "w": 12, "x": 0, "y": i * 8},
            }
            for i in range(rng.randint(20, 80))
        ]
        body = json.dumps({"title": app, "panels": panels}, indent=2)
        key = "dashboard.json"
    elif style < 0.8:
        body = "\n".join(
            f"location /{_word(rng)}/{i} {{ proxy_pass http://{app}:8080; proxy_set_header "
            f"X-Forwarded-For $remote_addr; }}"
            for i in range(rng.randint(100, 400))
        )
        key = "nginx.conf"
    else:
        lines = []
        for i in range(rng.randint(30, 120)):
            lines.append(f"kubectl get {_word(rng)} -n {ns} \\")
            lines.append(f"  -o jsonpath='{{.items[{i}].metadata.name}}' || true")
        body = "#!/bin/sh\nset -eu\n" + "\n".join(lines)
        key = "run.sh"
    indented = "\n".join("    " + line if line else "" for line in body.splitlines())
    return f"""---
# Source: {chart}/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: {app}-config
  namespace: {ns}
  labels:
{_labels(app, chart, "    ")}data:
  {key}: |
{indented}
"""


def crd(rng: random.Random, app: str, chart: str) -> str:
    props = "".join(
        f"""                {_word(rng)}{i}:
                  type: {rng.choice(["string", "integer", "boolean"])}
                  description: "The {_word(rng)} {_word(rng)} of the {_word(rng)}."
"""
        for i in range(rng.randint(50, 200))
    )
    plural = f"{app.replace('-', '')}s"
    return f"""---
# Source: {chart}/crds/crd.yaml
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {{kind: {app.title().replace("-", "")}, plural: {plural}}}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
{props}"""


def small_objects(rng: random.Random, app: str, chart: str, ns: str) -> str:
    return f"""---
# Source: {chart}/templates/serviceaccount.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {app}
  namespace: {ns}
---
# Source: {chart}/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: {app}
  namespace: {ns}
  labels:
{_labels(app, chart, "    ")}spec:
  type: ClusterIP
  ports:
    - {{port: 80, targetPort: http, protocol: TCP, name: http}}
  selector:
    app.kubernetes.io/name: {app}
---
# Source: {chart}/templates/role.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {app}
  namespace: {ns}
rules:
  - apiGroups: [""]
    resources: [configmaps, secrets]
    verbs: [get, list, watch]
---
# Source: {chart}/templates/hpa.yaml
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {app}
  namespace: {ns}
spec:
  scaleTargetRef: {{apiVersion: apps/v1, kind: Deployment, name: {app}}}
  minReplicas: 2
  maxReplicas: {rng.randint(5, 50)}
  metrics:
    - type: Resource
      resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 70}}}}
---
# Source: {chart}/templates/pdb.yaml
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {app}
  namespace: {ns}
spec:
  maxUnavailable: 1
  selector:
    matchLabels: {{app.kubernetes.io/name: {app}}}
---
# Source: {chart}/templates/ingress.yaml
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {app}
  namespace: {ns}
spec:
  ingressClassName: alb
  rules:
    - host: {app}.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {{service: {{name: {app}, port: {{number: 80}}}}}}
"""


def legacy_object(rng: random.Random, app: str, chart: str, ns: str) -> str:
    api, kind = rng.choice(
        [
            ("policy/v1beta1", "PodDisruptionBudget"),
            ("batch/v1beta1", "CronJob"),
            ("autoscaling/v2beta2", "HorizontalPodAutoscaler"),
            ("flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema"),
            ("networking.k8s.io/v1beta1", "Ingress"),
        ]
    )
    return f"""---
# Source: {chart}/templates/legacy.yaml
apiVersion: {api}
kind: {kind}
metadata:
  name: {app}-legacy
  namespace: {ns}
spec: {{}}
"""


def generate(total_mb: float, dense: float = 0.0, seed: int = 20240601) -> dict[str, bytes]:
    """``{file name: bytes}`` of rendered charts, about ``total_mb`` megabytes in all.

    ``dense`` is the share of apps whose Deployment, the largest document, is rendered on
    a removed API (``apps/v1beta2``): the fast scan must parse each of those in full, the
    case it was not tuned on. Drawn from a generator of its own, so the default corpus
    (0.0: about 0.5 % of documents, all small, on removed APIs) stays byte for byte."""
    rng = random.Random(seed)
    density = random.Random(seed + 1)
    files: dict[str, bytes] = {}
    size, index = 0, 0
    while size < total_mb * 1_000_000:
        chart = f"chart-{index:03d}"
        ns = f"team-{_word(rng)}"
        parts = []
        for a in range(rng.randint(8, 16)):
            app = f"{_word(rng)}-{_word(rng)}-{a}"
            api = "apps/v1beta2" if density.random() < dense else "apps/v1"
            parts.append(deployment(rng, app, chart, ns, api))
            parts.append(configmap(rng, app, chart, ns))
            parts.append(small_objects(rng, app, chart, ns))
            if rng.random() < 0.15:
                parts.append(crd(rng, app, chart))
            if rng.random() < 0.05:
                parts.append(legacy_object(rng, app, chart, ns))
        data = "".join(parts).encode()
        files[f"{chart}.yaml"] = data
        size += len(data)
        index += 1
    return files


def full_parse_findings(
    files: dict[str, bytes], facts: FactSet, targets: Targets
) -> Counter[tuple[str, str, str, str | None, str | None]]:
    """Findings derived from the C loader's full parse (no line numbers: load_all has none)."""
    out: Counter[tuple[str, str, str, str | None, str | None]] = Counter()
    for name, data in files.items():
        for doc in yaml.load_all(data, Loader=yaml.CSafeLoader):
            if not isinstance(doc, dict):
                continue
            fact = facts.match(doc.get("apiVersion"), doc.get("kind"))
            if fact and fact.severity_at(targets.for_component(fact.component)):
                obj_name, ns = object_identity(doc)
                out[(name, doc["apiVersion"], doc.get("kind"), obj_name, ns)] += 1
    return out


def best_of(repeat: int, func: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=32.0, help="corpus size in MB (>= 30)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings")
    parser.add_argument("--target", default="1.32", help="Kubernetes target version")
    parser.add_argument(
        "--dense",
        type=float,
        default=0.0,
        help="share of Deployments on a removed API (0 to 1; the default corpus is sparse)",
    )
    args = parser.parse_args(argv)

    facts = load_facts()
    targets = Targets(facts.parse_target(args.target))
    files = generate(args.mb, args.dense)
    total = sum(len(data) for data in files.values())
    documents = sum(data.count(b"\n---") + 1 for data in files.values())
    fast = ManifestScanner(facts, targets)
    strict = ManifestScanner(facts, targets, ScanOptions(strict=True))

    def run_fast() -> list:
        return [f for name, data in files.items() for f in fast.scan_bytes(data, name).sightings]

    def run_cload() -> None:
        for data in files.values():
            for _ in yaml.load_all(data, Loader=yaml.CSafeLoader):
                pass

    fast_findings = run_fast()
    strict_findings = [
        f for name, data in files.items() for f in strict.scan_bytes(data, name).sightings
    ]
    reference = full_parse_findings(files, facts, targets)
    got = Counter((f.file, f.api_version, f.kind, f.name, f.namespace) for f in fast_findings)
    if got != reference or sorted(map(repr, fast_findings)) != sorted(map(repr, strict_findings)):
        print("FINDINGS DIFFER from the full parse", file=sys.stderr)
        return 1
    parsed = sum(fast.scan_bytes(data, name).documents_parsed for name, data in files.items())

    c_seconds = best_of(args.repeat, run_cload)
    fast_seconds = best_of(args.repeat, run_fast)
    mb = total / 1_000_000
    print(f"corpus: {len(files)} files, {documents} documents, {mb:.1f} MB, target {args.target}")
    print(f"findings: {len(fast_findings)} (identical to the full parse, lines included)")
    print(f"documents fully parsed by the fast scan: {parsed} of {documents}")
    print(f"PyYAML CSafeLoader load_all: {c_seconds:.3f} s  {mb / c_seconds:8.1f} MB/s")
    print(f"ekslift fast scan:           {fast_seconds:.3f} s  {mb / fast_seconds:8.1f} MB/s")
    print(f"ratio: {c_seconds / fast_seconds:.1f}x (best of {args.repeat})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
