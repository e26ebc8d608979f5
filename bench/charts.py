"""Benchmark: step 3 over the whole demo estate, cold and warm cache, beside plain helm.

Starts its own sandbox in a temporary directory and times, in the same run:

* `ekslift charts --params` with an empty cache (every index and archive downloaded) and
  again with the cache warm (indexes answered 304, archives read from disk);
* what a person would run by hand for the same charts: `helm repo add` of the HTTP
  repositories, `helm search repo <chart> --versions` per chart and one `helm template
  --kube-version` of each chart's newest version -- no values, no blue, no diff.

Wall times include process start-up. Run: `.venv/bin/python bench/charts.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ekslift.charts.helm import Helm, HelmError
from ekslift_sandbox import control

ROUNDS = 3
EKSLIFT = str(Path(sys.executable).with_name("ekslift"))


def _best(seconds: list[float]) -> str:
    return f"best {min(seconds):.2f} s, median {sorted(seconds)[len(seconds) // 2]:.2f} s"


def _ekslift(params: Path) -> tuple[float, dict[str, int], int]:
    begin = time.perf_counter()
    done = subprocess.run(
        [EKSLIFT, "charts", "--params", str(params), "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - begin
    if done.returncode not in (0, 1):
        raise SystemExit(f"ekslift charts failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    return seconds, report["stats"], len(report["proposals"])


def _helm_by_hand(home: Path, repos: dict[str, str], target: str) -> float:
    """helm repo add, search --versions per chart, template of each newest version."""
    shutil.rmtree(home, ignore_errors=True)
    helm = Helm(home)
    begin = time.perf_counter()
    for name, url in repos.items():
        helm.repo_add(name, url)
    for name in repos:
        charts = json.loads(helm.run("search", "repo", f"{name}/", "-o", "json"))
        for chart in {c["name"] for c in charts}:
            versions = helm.search_versions(chart)
            with contextlib.suppress(HelmError):  # a kubeVersion refusal is an answer too
                helm.template(
                    chart,
                    release_name=chart.split("/")[1],
                    namespace="default",
                    version=versions[0].version,
                    kube_version=f"v{target}.0",
                )
    return time.perf_counter() - begin


def main() -> None:
    directory = Path(tempfile.mkdtemp(prefix="ekslift-bench-charts-"))
    started = time.perf_counter()
    state = control.up(directory)
    print(f"sandbox up in {time.perf_counter() - started:.0f} s")
    try:
        os.environ.update(state.env)
        params = yaml.safe_load(Path("params/demo.yaml").read_text(encoding="utf-8"))
        target = str(params["target_version"])
        cache = directory / "bench-cache"
        params.setdefault("charts", {})["cache_dir"] = str(cache)
        params["scan"]["manifest_paths"] = []
        path = directory / "params.yaml"
        path.write_text(yaml.safe_dump(params), encoding="utf-8")
        repos = {
            "sandbox": state.env["EKSLIFT_CHART_REPO_URL"],
            "community": state.env["EKSLIFT_COMMUNITY_REPO_URL"],
        }
        cold, warm, manual = [], [], []
        for _ in range(ROUNDS):
            shutil.rmtree(cache, ignore_errors=True)
            seconds, cold_stats, deployments = _ekslift(path)
            cold.append(seconds)
            seconds, warm_stats, _ = _ekslift(path)
            warm.append(seconds)
            manual.append(_helm_by_hand(directory / "helm-by-hand", repos, target))
        print(f"{deployments} deployments, target {target}")
        print(f"ekslift charts, cold cache: {_best(cold)}; {cold_stats}")
        print(f"ekslift charts, warm cache: {_best(warm)}; {warm_stats}")
        print(f"helm repo add + search --versions + template of each latest: {_best(manual)}")
        print(
            f"ratios (best): cold/helm {min(cold) / min(manual):.2f}, "
            f"warm/helm {min(warm) / min(manual):.2f}, warm/cold {min(warm) / min(cold):.2f}"
        )
    finally:
        control.down(directory)
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
