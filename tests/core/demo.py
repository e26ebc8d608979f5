"""The demo run the core tests share: `ekslift run --params params/demo.yaml` as `make demo`
does it, archived to the sandbox's S3, once per session (a full run takes minutes), with what
the sandbox's servers logged of it and the shares step 4 left."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ekslift import aws
from ekslift.params import load_params
from ekslift.traffic.actions import read_forward_set

EKSLIFT = str(Path(".venv/bin/ekslift").resolve())


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EKSLIFT, *args], capture_output=True, text=True, env=env or dict(os.environ), timeout=900
    )


def run_dir_of(output: str) -> Path:
    line = next(x for x in output.splitlines() if "archived in" in x)
    return Path(line.split("archived in", 1)[1].strip())


def _listener_actions(region: str) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every listener's default actions and every rule's actions of the region's ALBs."""
    elb = aws.client("elbv2", region)
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for balancer in elb.describe_load_balancers()["LoadBalancers"]:
        listeners = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])
        for listener in listeners["Listeners"]:
            found[("listener", listener["ListenerArn"])] = listener["DefaultActions"]
            for rule in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]:
                if not rule["IsDefault"]:
                    found[("rule", rule["RuleArn"])] = rule["Actions"]
    return found


def _restore(region: str, saved: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    elb = aws.client("elbv2", region)
    for (kind, arn), actions in saved.items():
        if kind == "listener":
            elb.modify_listener(ListenerArn=arn, DefaultActions=actions)
        else:
            elb.modify_rule(RuleArn=arn, Actions=actions)


@contextmanager
def weights_put_back() -> Iterator[None]:
    """A demo run's step 4 moves the shared sandbox's ALBs to green: afterwards (whatever
    happened) every listener and rule is put back exactly as seeded, since the other tests
    share the sandbox and judge its seeded state (cutover readiness at the next share)."""
    params = load_params("params/demo.yaml")
    aws.clear_cache()
    saved = {region.name: _listener_actions(region.name) for region in params.regions}
    try:
        yield
    finally:
        aws.clear_cache()
        for region, actions in saved.items():
            _restore(region, actions)


def sandbox_requests(url: str, method: str = "GET") -> Any:
    """What one sandbox server logged (GET), or clear its log (DELETE)."""
    request = urllib.request.Request(f"{url}/_sandbox/requests", method=method)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


@dataclass(frozen=True)
class DemoOnS3:
    done: subprocess.CompletedProcess[str]
    run_dir: Path  # the working copy on this machine
    shares: dict[str, int]  # green's share AWS showed per region when the demo ended
    url: str  # the archive
    run_url: str
    aws: list[dict[str, Any]]  # every AWS request the run made
    kube: dict[str, list[dict[str, Any]]]  # every Kubernetes request, per cluster
    env: dict[str, str]

    @property
    def run_id(self) -> str:
        return self.run_url.rsplit("/", 1)[1]


def run_demo_on_s3(sandbox: Any, archive: str, staging: Path) -> DemoOnS3:
    """The run with its servers' logs cleared before (after the weights were saved: that
    read is the test's) and collected after (before they are put back, for the same
    reason)."""
    params = load_params("params/demo.yaml")
    servers = [sandbox.aws_endpoint, *sandbox.kube_servers.values()]
    env = {**os.environ, "EKSLIFT_ARCHIVE_DIR": archive, "EKSLIFT_STAGING_DIR": str(staging)}
    with weights_put_back():
        for server in servers:
            sandbox_requests(server, "DELETE")
        done = run("run", "--params", "params/demo.yaml", env=env)
        aws_log = sandbox_requests(sandbox.aws_endpoint)["items"]
        kube_log = {name: sandbox_requests(u)["items"] for name, u in sandbox.kube_servers.items()}
        aws.clear_cache()
        shares = {
            region.name: read_forward_set(region.name, region.traffic.alb).share(region.traffic.alb)
            for region in params.regions
            if region.traffic is not None and region.traffic.alb is not None
        }
    lines = done.stdout.splitlines()
    run_url = next(x for x in lines if "archived in" in x).split("archived in", 1)[1].strip()
    copy = next(x for x in lines if "working copy:" in x).split("working copy:", 1)[1].strip()
    return DemoOnS3(done, Path(copy), shares, archive, run_url, aws_log, kube_log, env)
