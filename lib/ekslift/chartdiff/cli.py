"""`ekslift charts`: step 3 from the command line, for the estate or for one chart.

`--params FILE` judges every deployment of the estate (as notebook 03 does); `--chart
REPO_URL/CHART@VERSION --values FILE -t X [--blue Y]` judges one chart with one set of
values, as a pre-merge check of a bump. Exit codes are the house's: 0 pass or warn, 1 a
blocker, 2 bad input, 3 a repository or cluster that never answered.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from ekslift.apiscan.facts import load_facts
from ekslift.chartdiff import STEP, present
from ekslift.chartdiff.choose import ChoiceRules, Chooser
from ekslift.chartdiff.controllers import load_controllers
from ekslift.chartdiff.deployments import EstateDeployments, oci_url
from ekslift.chartdiff.estate import ChartReport, analyse, judge_deployments
from ekslift.chartdiff.judge import gate_findings
from ekslift.chartdiff.models import Deployment, Instance
from ekslift.chartdiff.render import Renderer
from ekslift.chartdiff.repos import ChartSources, default_cache_dir
from ekslift.charts.helm import Helm
from ekslift.errors import EXIT_GATE, EXIT_PASS, EXIT_TOOL, InputError
from ekslift.gate import judge
from ekslift.params import load_params
from ekslift.versions import parse_minor


def add_charts_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "charts",
        help="step 3: which chart version each deployment should run on the target, and the diff",
    )
    parser.add_argument("--params", help="parameter file: judge the whole estate")
    parser.add_argument("--chart", metavar="REPO_URL/CHART@VERSION", help="judge one chart")
    parser.add_argument("--values", metavar="FILE", help="values for --chart (kept in memory)")
    parser.add_argument("-t", "--target-version", help="Kubernetes target for --chart")
    parser.add_argument("--blue", metavar="VERSION", help="blue's Kubernetes version for --chart")
    parser.add_argument("--namespace", default="default", help="namespace for --chart")
    parser.add_argument("--min-age", type=int, default=7, help="minimum release age in days")
    parser.add_argument("--plain-http", action="store_true", help="OCI registry without TLS")
    parser.add_argument("-o", "--output", choices=["table", "json", "markdown"], default="table")
    return parser


def _one_chart(args: argparse.Namespace, helm_home: Path) -> ChartReport:
    if not args.target_version:
        raise InputError("--chart needs -t/--target-version (the Kubernetes version to judge on)")
    ref, _, version = str(args.chart).partition("@")
    repo_url, _, chart = ref.rstrip("/").rpartition("/")
    if not version or not repo_url.startswith(("http://", "https://", "oci://")):
        raise InputError(
            f"--chart {args.chart}: expected REPO_URL/CHART@VERSION, e.g. "
            "https://charts.example.com/photo-api@2.0.1 or oci://registry/charts/karpenter@1.3.3"
        )
    values: dict[str, object] = {}
    if args.values:
        try:
            loaded = yaml.safe_load(Path(args.values).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise InputError(f"--values {args.values}: cannot be read as YAML") from exc
        if not isinstance(loaded, dict | None):
            raise InputError(f"--values {args.values}: not a mapping of values")
        values = loaded or {}
    target = parse_minor(args.target_version, strict=True)
    instances = [Instance(chart, "target", "green", version, target, values=values)]
    if args.blue:
        blue = parse_minor(args.blue, strict=True)
        instances.append(Instance(chart, "blue", "blue", version, blue, values=values))
    deployment = Deployment(
        "helm", chart, args.namespace, chart, None, instances, oci_url(repo_url), "--chart"
    )
    helm = Helm(helm_home)
    host = repo_url.removeprefix("oci://").split("/", 1)[0]
    sources = ChartSources(
        default_cache_dir(), helm, plain_http=frozenset({host}) if args.plain_http else frozenset()
    )
    rules = ChoiceRules(target=target, now=datetime.now(UTC), min_age_days=args.min_age)
    chooser = Chooser(sources, Renderer(helm, load_facts()), load_controllers(), rules)
    return judge_deployments(chooser, EstateDeployments([deployment]))


def _print_table(console: Console, report: ChartReport) -> None:
    frame = present.table(present.proposals_frame(report))
    table = Table(*frame.columns, title=f"Charts for Kubernetes {report.target}")
    for record in frame.itertuples(index=False):
        table.add_row(*(str(v) for v in record))
    console.print(table)
    for proposal in report.proposals:
        if proposal.diff is None:
            continue
        diff = proposal.diff
        console.print(
            f"[bold]{proposal.deployment.label}[/bold] {diff.current} -> {diff.proposed}: "
            f"{len(diff.objects)} object change(s), values to fix: "
            f"{diff.user_keys_removed + diff.schema_errors or 'none'}"
        )


def run_charts(args: argparse.Namespace, console: Console, err: Console) -> int:
    with tempfile.TemporaryDirectory(prefix="ekslift-charts-") as tmp:
        if args.chart:
            report = _one_chart(args, Path(tmp))
            params = None
        elif args.params:
            params = load_params(args.params)
            report = analyse(params, helm_home=Path(tmp))
        else:
            raise InputError("give --params FILE (the estate) or --chart REF (one chart)")
    findings = gate_findings(report)
    if args.output == "json":
        console.print_json(json.dumps(present.report_json(report)))
    elif args.output == "markdown":
        console.print(present.markdown(report), markup=False)
    else:
        _print_table(console, report)
    if report.incomplete:
        err.print(f"[red]could not reach:[/red] {'; '.join(report.incomplete)}")
        return EXIT_TOOL
    if params is not None:
        return EXIT_GATE if judge(STEP, findings, params).verdict == "fail" else EXIT_PASS
    return EXIT_GATE if any(f.severity == "blocker" for f in findings) else EXIT_PASS
