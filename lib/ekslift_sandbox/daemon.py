"""The sandbox process: start every server, seed the scenario, report ready, wait for SIGTERM.

Started by `ekslift sandbox up` (control.py) in its own process group. Everything it serves
is reachable only through standard endpoints: `AWS_ENDPOINT_URL` for AWS, a kubeconfig for
the clusters, an HTTP chart repository for helm, `EKSLIFT_PROMETHEUS_URL` for Prometheus
(where installed).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ekslift.atomic import write_text_atomic
from ekslift.charts.helm import Helm
from ekslift.redact import CANARIES_ENV
from ekslift_sandbox import (
    gitops,
    identities,
    ociregistry,
    readiness_seed,
    scenario,
    seed,
    trafficgen,
)
from ekslift_sandbox.awsserver import AwsSandbox
from ekslift_sandbox.chartrepo import REPO_NAME, serve_chart_repo
from ekslift_sandbox.control import STATE, SandboxState
from ekslift_sandbox.kubeapi import FakeKubeAPIServer
from ekslift_sandbox.kubeconfig import write_kubeconfig
from ekslift_sandbox.prometheus import start_if_installed

log = logging.getLogger("ekslift_sandbox")
_REGION_KEYS = {"ap-northeast-1": "APNE1", "us-east-1": "USE1"}
LEASE_TABLE = "ekslift-leases"  # params/demo.yaml's shift.guard.table


class Stoppable(Protocol):
    """A started sandbox server; the daemon stops them all, last started first."""

    def stop(self) -> None: ...


def _start_clusters(specs: list[scenario.ClusterSpec]) -> dict[str, FakeKubeAPIServer]:
    servers = {}
    for spec in specs:
        server = FakeKubeAPIServer(spec.name, spec.git_version)
        kube = scenario.kube_seed(spec)
        for resource_type in kube.types:
            server.register_type(resource_type)
        server.add_many(kube.objects)
        servers[spec.name] = server.start()
        log.info("cluster %s: %d objects at %s", spec.name, len(kube.objects), server.url)
    return servers


def _chart_diff_seeds(
    state_dir: Path,
    helm: Helm,
    specs: list[scenario.ClusterSpec],
    mgmt: FakeKubeAPIServer,
    running: list[Stoppable],
) -> dict[str, str]:
    """Step 3's estate (issue 8): a second HTTP repository, the OCI registry (optional, like
    Prometheus), the GitOps checkout, and the Argo CD apps that use them."""
    now = datetime.now(UTC)
    community = gitops.serve_community_repo(state_dir / "community-charts", helm, now)
    running.append(community)
    registry = ociregistry.start_if_installed(state_dir / "oci")
    env = {
        "EKSLIFT_COMMUNITY_REPO_URL": community.url,
        "EKSLIFT_GITOPS_CHECKOUT": str(gitops.write_checkout(state_dir / "gitops")),
    }
    if registry is not None:
        running.append(registry)
        gitops.push_oci_charts(registry, helm, state_dir / "oci-build", now)
        env["EKSLIFT_OCI_REPO_URL"] = registry.url
    mgmt.register_type(gitops.APPLICATION_SET)
    mgmt.add_many(gitops.chart_diff_seeds(specs, community.url, registry.url if registry else None))
    return env


def build(
    state_dir: Path, scale: scenario.Scale, flavour: str
) -> tuple[SandboxState, list[Stoppable]]:
    """Start and seed everything; returns the state to publish and what to stop later."""
    running: list[Stoppable] = []
    aws = AwsSandbox().start()
    running.append(aws)
    os.environ.update(aws.environment())
    helm = Helm(state_dir / "helm")
    repo = serve_chart_repo(state_dir / "charts", helm)
    running.append(repo)
    helm.repo_add(REPO_NAME, repo.url)
    specs = scenario.clusters(scale)
    servers = _start_clusters(specs)
    running += servers.values()
    server_urls = {name: server.url for name, server in servers.items()}
    mgmt = next(s for s in specs if s.role == "management")
    servers[mgmt.name].add_many(scenario.argocd_objects(specs, repo.url, server_urls))
    releases = seed.ReleaseMaker(helm, REPO_NAME)
    for spec in specs:
        servers[spec.name].add_many(releases.secrets(spec))
    chart_env = _chart_diff_seeds(state_dir, helm, specs, servers[mgmt.name], running)

    env = {
        **aws.environment(),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(state_dir / "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(state_dir / "aws-credentials"),
        "EKSLIFT_CHART_REPO_URL": repo.url,
        **chart_env,
    }
    for name in ("aws-config", "aws-credentials"):
        (state_dir / name).write_text("")
    now = datetime.now(UTC)
    albs = {}
    for region in sorted({s.region for s in specs}):
        ec2 = seed.client("ec2", region, aws.url)
        vpc, subnets = seed.network(ec2, region)
        in_region = [s for s in specs if s.region == region]
        # cutover readiness (issue 10): each cluster's subnets, security group and NAT egress
        nets = readiness_seed.networks(ec2, region, vpc, subnets, in_region)
        for spec in in_region:
            net = nets[spec.name]
            seed.seed_eks(spec, aws.url, net.subnets, aws.eks, net.security_groups)
        key = _REGION_KEYS[region]
        alb = seed.seed_load_balancer(region, key.lower(), aws.url, vpc, subnets)
        seed.seed_alb_metrics(region, aws.url, alb, flavour == "regress", now)
        seed.seed_lease_table(region, aws.url, LEASE_TABLE)
        readiness_seed.seed_region(region, aws.url, vpc, alb, specs, nets, servers, aws.eks, now)
        albs[region] = alb
        env[f"EKSLIFT_SANDBOX_{key}_LISTENER_ARN"] = alb["listener"]
        env[f"EKSLIFT_SANDBOX_{key}_BLUE_TG_ARN"] = alb["blue"]
        env[f"EKSLIFT_SANDBOX_{key}_GREEN_TG_ARN"] = alb["green"]
    env["EKSLIFT_SANDBOX_ZONE_ID"] = seed.seed_route53(aws.url, albs)
    # Where the seeded ALB history ends and the traffic generator's minutes begin: the
    # demo's step 4 replays the history before it (params/demo.yaml, `shift.replay`).
    env["EKSLIFT_SANDBOX_HISTORY_END"] = now.replace(second=0, microsecond=0).isoformat()
    env["EKSLIFT_SANDBOX_ARCHIVE"] = seed.seed_archive_bucket(aws.url)
    # The planted secrets are canaries: a run whose files contain one is not archived.
    env[CANARIES_ENV] = ",".join(
        (scenario.SECRET_SENTINEL, scenario.HELM_VALUE_SENTINEL, scenario.ARGOCD_TOKEN_SENTINEL)
    )
    readiness_seed.seed_management(servers[mgmt.name])
    env.update(identities.seed_approver(aws.url))
    traffic = trafficgen.start_for(aws.url, albs, specs, flavour == "regress", state_dir)
    running.append(traffic)
    env.update(trafficgen.environment(traffic))
    prometheus = start_if_installed(
        state_dir / "prometheus", specs, flavour == "regress", now, (traffic.metrics_target,)
    )
    if prometheus is not None:
        running.append(prometheus)
        env["EKSLIFT_PROMETHEUS_URL"] = prometheus.url

    kubeconfig = state_dir / "kubeconfig"
    write_kubeconfig(kubeconfig, server_urls, current=mgmt.name)
    env["KUBECONFIG"] = str(kubeconfig)
    state = SandboxState(
        pid=os.getpid(),
        scale=scale,
        scenario=flavour,
        started_at=now.isoformat(),
        aws_endpoint=aws.url,
        kubeconfig=str(kubeconfig),
        chart_repo_url=repo.url,
        prometheus_url=prometheus.url if prometheus else None,
        kube_servers=server_urls,
        env=env,
    )
    return state, running


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ekslift_sandbox.daemon")
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--scale", choices=["small", "large"], default="small")
    parser.add_argument("--scenario", choices=["healthy", "regress"], default="healthy")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    state_dir = args.dir.resolve()
    state, running = build(state_dir, args.scale, args.scenario)
    write_text_atomic(state_dir / STATE, state.model_dump_json(indent=2))
    log.info("sandbox ready (pid %d)", state.pid)
    try:
        stop.wait()
    finally:
        (state_dir / STATE).unlink(missing_ok=True)
        for server in reversed(running):
            server.stop()
        log.info("sandbox stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
