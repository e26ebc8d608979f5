"""Inventory of a ``--scale large`` cluster (18,000 pods) beside ``kubectl get pods -A -o json``.

Starts a large sandbox in a temporary directory, then, in the same run and against the same
fake kube-apiserver, N times each:

* ``kubectl get pods -A -o json > /dev/null`` for photos-apne1-green (and photos-apne1-blue,
  for the region comparison);
* the inventory of photos-apne1-green alone (``collect.collect_cluster``), the issue's target;
* the inventory of region ap-northeast-1 (blue + green, both large, and Argo CD)
  (``collect.collect``), for information on what a real run reads.

Every measurement runs in a fresh process reaped with ``wait4``, so its peak RSS is its own;
wall times include process start (Python imports too), as an operator experiences them.
Pod counts are checked against the server's, so a fast but wrong inventory fails.
Targets (the issue): inventory wall <= 1.5 x kubectl's (best of N), peak RSS < 1 GB.
The sandbox is always stopped. Results go to stdout and ``bench/out/inventory_scale.json``.

Usage: ``.venv/bin/python bench/inventory_scale.py [--repeat 3] [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KUBECTL = ROOT / ".tools" / "bin" / "kubectl"
OUT = ROOT / "bench" / "out" / "inventory_scale.json"
REGION = "ap-northeast-1"
ROLE = "green"
CONTEXTS = {"blue": "photos-apne1-blue", "green": "photos-apne1-green"}
MAX_RATIO = 1.5
MAX_RSS_MB = 1024.0


@dataclass
class Run:
    wall_s: float
    peak_rss_mb: float
    stdout: str


def run_measured(argv: list[str], env: dict[str, str], *, capture: bool) -> Run:
    """Run a command to completion; its own wall time and peak RSS (wait4, not RUSAGE_CHILDREN,
    which would report the largest child of the whole run)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
    )
    out = process.stdout.read().decode() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited with {process.returncode}: {' '.join(argv[1:])}")
    return Run(wall, usage.ru_maxrss / 1024, out)  # ru_maxrss is in KiB on Linux


def summarize(runs: list[Run]) -> dict[str, Any]:
    walls = [r.wall_s for r in runs]
    return {
        "wall_s": [round(w, 3) for w in walls],
        "best_s": round(min(walls), 3),
        "median_s": round(statistics.median(walls), 3),
        "peak_rss_mb": round(max(r.peak_rss_mb for r in runs), 1),
    }


def child(kind: str, params_path: str) -> int:
    """The measured inventory process; it imports only what the inventory needs."""
    from ekslift.inventory import collect
    from ekslift.params import load_params

    params = load_params(params_path)
    start = time.perf_counter()
    if kind == "cluster":
        inventories = [collect.collect_cluster(params, REGION, ROLE)]
        findings = 0
    else:
        inventory = collect.collect(params)
        inventories, findings = inventory.clusters, len(inventory.findings)
    wall = time.perf_counter() - start
    result = {
        "in_process_s": wall,
        "pods": {
            inv.cluster.where.cluster if inv.cluster else "?": sum(w.pods for w in inv.workloads)
            for inv in inventories
        },
        "problems": [p for inv in inventories for p in inv.problems.values()],
        "findings": findings,
    }
    print(json.dumps(result))
    return 0


def write_params(path: Path) -> None:
    """Region ap-northeast-1 of the demo parameters: both its clusters are the large ones."""
    text = f"""schema_version: 1
name: bench-inventory-scale
environment: sandbox
target_version: "1.34"
regions:
  - name: {REGION}
    blue: {{eks_cluster: {CONTEXTS["blue"]}, kube_context: {CONTEXTS["blue"]}}}
    green: {{eks_cluster: {CONTEXTS["green"]}, kube_context: {CONTEXTS["green"]}}}
argocd: {{kube_context: photos-mgmt, namespace: argocd}}
"""
    path.write_text(text, encoding="utf-8")


def server_pod_count(context: str, kubeconfig: str) -> int:
    from ekslift.kube import KubeReader

    page = KubeReader(context, kubeconfig).get_json("/api/v1/pods", [("limit", 1)])
    return len(page["items"]) + int(page["metadata"].get("remainingItemCount", 0))


def proc_memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a live process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from ekslift_sandbox import control

    start = time.perf_counter()
    state = control.up(work / "sandbox", scale="large")
    sandbox: dict[str, Any] = {
        "ready_s": round(time.perf_counter() - start, 1),
        "ready_timeout_s": control.READY_TIMEOUT_S,
        "daemon_at_ready_mb": proc_memory_mb(state.pid),
    }
    print(f"large sandbox ready in {sandbox['ready_s']} s, daemon {sandbox['daemon_at_ready_mb']}")
    env = {**os.environ, **state.env}
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    expected = {ctx: server_pod_count(ctx, state.kubeconfig) for ctx in CONTEXTS.values()}
    sandbox["pods"] = expected
    params_path = work / "params.yaml"
    write_params(params_path)

    kubectl: dict[str, list[Run]] = {ctx: [] for ctx in CONTEXTS.values()}
    inventory: dict[str, list[Run]] = {"cluster": [], "region": []}
    results: dict[str, list[dict[str, Any]]] = {"cluster": [], "region": []}
    for i in range(args.repeat):
        for ctx in CONTEXTS.values():
            argv = [str(args.kubectl), "--kubeconfig", state.kubeconfig, "--context", ctx]
            kubectl[ctx].append(
                run_measured([*argv, "get", "pods", "-A", "-o", "json"], env, capture=False)
            )
        for kind in inventory:
            argv = [sys.executable, __file__, "--child", kind, "--params", str(params_path)]
            run = run_measured(argv, env, capture=True)
            inventory[kind].append(run)
            results[kind].append(json.loads(run.stdout.strip().splitlines()[-1]))
        print(f"round {i + 1}/{args.repeat} done", flush=True)
    sandbox["daemon_at_end_mb"] = proc_memory_mb(state.pid)

    wrong = [
        f"{kind}: {r['problems'] or r['pods']}"
        for kind, rs in results.items()
        for r in rs
        if r["problems"] or any(expected[c] != n for c, n in r["pods"].items())
    ]
    kubectl_summary = {ctx: summarize(runs) for ctx, runs in kubectl.items()}
    green = CONTEXTS[ROLE]
    baselines = {
        "cluster": kubectl_summary[green]["best_s"],
        "region": sum(s["best_s"] for s in kubectl_summary.values()),
    }
    rows = {}
    for kind, runs in inventory.items():
        row = summarize(runs)
        row["in_process_best_s"] = round(min(r["in_process_s"] for r in results[kind]), 3)
        row["kubectl_best_s"] = round(baselines[kind], 3)
        row["ratio"] = round(row["best_s"] / baselines[kind], 3)
        row["pass"] = row["ratio"] <= MAX_RATIO and row["peak_rss_mb"] < MAX_RSS_MB
        rows[kind] = row
    return {
        "schema_version": 1,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "repeat": args.repeat,
        "targets": {"max_ratio": MAX_RATIO, "max_peak_rss_mb": MAX_RSS_MB},
        "sandbox": sandbox,
        "kubectl": kubectl_summary,
        "inventory": rows,
        "wrong_results": wrong,
        "pass": not wrong and all(r["pass"] for r in rows.values()),
    }


def print_table(report: dict[str, Any]) -> None:
    labels = {
        "cluster": f"one cluster ({CONTEXTS[ROLE]})",
        "region": f"region {REGION} (blue+green)",
    }
    header = (
        f"{'inventory of':38} {'kubectl s':>9} {'inventory s':>11} {'(in-proc)':>9} "
        f"{'median s':>8} {'ratio':>6} {'peak MB':>8}  verdict"
    )
    print(header)
    print("-" * len(header))
    for kind, row in report["inventory"].items():
        print(
            f"{labels[kind]:38} {row['kubectl_best_s']:9.2f} {row['best_s']:11.2f} "
            f"{row['in_process_best_s']:9.2f} {row['median_s']:8.2f} {row['ratio']:6.2f} "
            f"{row['peak_rss_mb']:8.0f}  {'PASS' if row['pass'] else 'FAIL'}"
        )
    for ctx, s in report["kubectl"].items():
        print(
            f"kubectl get pods -A -o json {ctx}: best {s['best_s']:.2f} s, "
            f"median {s['median_s']:.2f} s, peak {s['peak_rss_mb']:.0f} MB"
        )
    print(
        f"targets: ratio <= {MAX_RATIO} (best of {report['repeat']}, process wall), "
        f"peak RSS < {MAX_RSS_MB:.0f} MB; pods per cluster {report['sandbox']['pods']}"
    )
    for problem in report["wrong_results"]:
        print(f"WRONG RESULT {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--kubectl", type=Path, default=KUBECTL, help="kubectl binary")
    parser.add_argument("--out", type=Path, default=OUT, help="JSON results file")
    parser.add_argument("--child", choices=["cluster", "region"], help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.params)
    if not args.kubectl.is_file():
        print(f"kubectl not found at {args.kubectl}; pass --kubectl", file=sys.stderr)
        return 2

    from ekslift_sandbox import control

    work = Path(tempfile.mkdtemp(prefix="ekslift-bench-inventory-"))
    try:
        report = measure(args, work)
    except control.SandboxError as exc:
        print(f"the large sandbox did not start (logs kept in {work}): {exc}", file=sys.stderr)
        return 3
    finally:
        control.down(work / "sandbox")
    shutil.rmtree(work, ignore_errors=True)
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out}")
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
