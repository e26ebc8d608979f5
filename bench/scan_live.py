"""Benchmark: the live API scan of a `--scale large` sandbox cluster (18,000 pods).

Starts its own large sandbox in a temporary directory, scans photos-apne1-green's live
objects (discovery, every listable resource, last-applied annotations) for the target 1.34,
and times `kubectl get pods -A -o json` against the same server in the same run for scale.
Target: the live scan under 10 s. Run: `.venv/bin/python bench/scan_live.py`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from packaging.version import Version

from ekslift.apiscan.facts import Targets, load_facts
from ekslift.apiscan.sources.live import scan_live
from ekslift.kube import KubeReader
from ekslift.tools import find_binary
from ekslift_sandbox import control

CLUSTER = "photos-apne1-green"
RUNS = 3


def _best(seconds: list[float]) -> str:
    return f"best {min(seconds):.2f} s, median {sorted(seconds)[len(seconds) // 2]:.2f} s"


def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="ekslift-bench-live-"))
    started = time.perf_counter()
    state = control.up(directory, scale="large")
    print(f"large sandbox up in {time.perf_counter() - started:.0f} s")
    try:
        os.environ.update(state.env)
        facts, targets = load_facts(), Targets(Version("1.34"))
        scans, kubectl = [], []
        for _ in range(RUNS):
            begin = time.perf_counter()
            result = scan_live(KubeReader(CLUSTER), facts, targets, cluster=CLUSTER)
            scans.append(time.perf_counter() - begin)
            begin = time.perf_counter()
            subprocess.run(
                [str(find_binary("kubectl")), "--context", CLUSTER, "get", "pods", "-A", "-o",
                 "json"],
                check=True,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "KUBECONFIG": state.kubeconfig},
            )  # fmt: skip
            kubectl.append(time.perf_counter() - begin)
        flagged = sum(1 for f in result.sightings if f.status)
        print(
            f"live scan of {CLUSTER}: {result.stats['live.objects']} objects in "
            f"{result.stats['live.resources']} resources, {flagged} findings, "
            f"{len(result.problems)} problems"
        )
        print(f"  ekslift live scan          {_best(scans)}  (target < 10 s)")
        print(f"  kubectl get pods -A -o json {_best(kubectl)}")
    finally:
        control.down(directory)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
