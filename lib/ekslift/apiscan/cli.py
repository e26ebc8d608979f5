"""``ekslift scan``: the API scan from the command line, with pluto's exit codes.

The CLI only parses flags into a typed :class:`ScanRequest` and presents the report; which
sources run is the registry's answer (:mod:`ekslift.apiscan.scan`), so no source is named
here and none imports this module.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ekslift.apiscan.contract import ScanRequest
from ekslift.apiscan.facts import FactSet, load_facts
from ekslift.apiscan.fix import suggest_fixes
from ekslift.apiscan.formats import FORMATS, render
from ekslift.apiscan.manifests import DEFAULT_MAX_FILE_SIZE
from ekslift.apiscan.scan import run_request, targets_for
from ekslift.apiscan.sightings import EXIT_ERROR
from ekslift.errors import EksliftError

#: A usage error (unknown flag, bad `-o`) under pluto's codes: 1, "error", since argparse's
#: 2 would read as "deprecated APIs found" to a CI job that replaced pluto.
SCAN_USAGE_EXIT = EXIT_ERROR


def add_scan_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``scan`` on the top-level parser's subparsers."""
    parser = subparsers.add_parser(
        "scan",
        help="find objects on APIs deprecated or removed in the target version",
        description=(
            "Scan manifests (files, folders, - for stdin) for APIs deprecated or removed in "
            "the target Kubernetes version. Exit codes as pluto: 0 clean, 1 input error, "
            "2 deprecated, 3 removed, 4 replacement not yet available; the highest wins."
        ),
    )
    configure_scan_parser(parser)
    return parser


def configure_scan_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="file, folder, or - (stdin)")
    parser.add_argument(
        "-t", "--target-version", help="Kubernetes version to check against, e.g. 1.33"
    )
    parser.add_argument(
        "--component-version",
        action="append",
        default=[],
        metavar="NAME=VERSION",
        help="add-on version to judge its APIs against (cert-manager=1.14, karpenter=1.0); "
        "without it an add-on's APIs are judged against its newest release",
    )
    parser.add_argument("-o", "--output", choices=FORMATS, default="text")
    parser.add_argument("--ignore-deprecations", action="store_true")
    parser.add_argument("--ignore-removals", action="store_true")
    parser.add_argument(
        "--suggest-fix",
        action="store_true",
        help="print a unified diff for pure apiVersion changes on stdout (the report goes to "
        "stderr), so `ekslift scan . -t 1.33 --suggest-fix > fix.patch` works",
    )
    parser.add_argument("--list-versions", action="store_true", help="list known versions")
    parser.add_argument(
        "--facts",
        action="append",
        default=[],
        metavar="FILE",
        help="extra facts (ekslift or pluto versions.yaml format); may repeat",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="parse every document and report every YAML problem (slower)",
    )
    parser.add_argument("--max-file-size", type=int, default=DEFAULT_MAX_FILE_SIZE)
    _add_source_arguments(parser)


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of the sources beyond files: charts, clusters and a whole estate."""
    parser.add_argument(
        "--chart",
        action="append",
        default=[],
        metavar="REF",
        help="render a chart (folder, .tgz, repo/chart[@version]) or kustomization for the "
        "target and scan it; may repeat",
    )
    parser.add_argument(
        "--cluster",
        action="append",
        default=[],
        metavar="CTX",
        help="kubeconfig context to read with --helm/--live/--insights (default: current)",
    )
    parser.add_argument("--helm", action="store_true", help="scan Helm release records")
    parser.add_argument(
        "--all-revisions", action="store_true", help="with --helm: every stored revision"
    )
    parser.add_argument(
        "--live",
        action="store_true",
        help="scan live objects: served versions and last-applied annotations",
    )
    parser.add_argument(
        "--insights", action="store_true", help="read EKS Upgrade Insights deprecation details"
    )
    parser.add_argument("--region", help="AWS region of the clusters (for --insights)")
    parser.add_argument(
        "--eks-cluster",
        action="append",
        default=[],
        metavar="NAME",
        help="EKS cluster name per --cluster, in order, when it differs from the context",
    )
    parser.add_argument(
        "--helm-home", type=Path, default=None, help="isolated helm home (default: a temp dir)"
    )
    parser.add_argument(
        "--params",
        metavar="FILE",
        help="scan the whole estate of a parameter file, as step 2 does (its target_version "
        "is the default target)",
    )


def request_of(args: argparse.Namespace) -> ScanRequest:
    """The typed request the sources get; argparse stays in the CLI."""
    return ScanRequest(
        paths=tuple(args.paths),
        charts=tuple(args.chart),
        contexts=tuple(args.cluster),
        eks_clusters=tuple(args.eks_cluster),
        helm_releases=args.helm,
        all_revisions=args.all_revisions,
        live=args.live,
        insights=args.insights,
        region=args.region,
        helm_home=args.helm_home,
        params_path=args.params,
        strict=args.strict,
        max_file_size=args.max_file_size,
    )


def _list_versions(facts: FactSet, out: TextIO) -> int:
    out.write("Kubernetes versions known to the facts (removed / deprecated in each):\n")
    for row in facts.version_summary():
        out.write(
            f"  {row['version']:<6} removed {len(row['removed']):>3}  "
            f"deprecated {len(row['deprecated']):>3}"
            + ("  (announced, not released)" if row["announced"] else "")
            + "\n"
        )
    addons = sorted({f.component for f in facts.facts} - {"k8s"})
    out.write(f"{len(facts)} facts; add-ons with facts: {', '.join(addons)}\n")
    return 0


def run_scan(
    args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the scan for parsed ``args``; returns the exit code (pluto's codes)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    request = request_of(args)
    try:
        facts = load_facts(args.facts)
        if args.list_versions:
            return _list_versions(facts, stdout)
        targets = targets_for(facts, request, args.target_version, args.component_version)
        report = run_request(request, facts, targets)
    except EksliftError as exc:
        stderr.write(f"ekslift scan: {exc}\n")
        return EXIT_ERROR
    rendered = render(report, args.output, facts)
    if args.suggest_fix:
        fixes = suggest_fixes(report.sightings, facts, targets)
        stderr.write(rendered)
        for manual in fixes.manual:
            stderr.write(f"no diff for {manual.sighting.location}: {manual.reason}\n")
        stdout.write(fixes.patch)
    else:
        stdout.write(rendered)
    return report.exit_code(args.ignore_deprecations, args.ignore_removals)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ekslift scan")
    configure_scan_parser(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return SCAN_USAGE_EXIT if exc.code else 0
    return run_scan(args)


if __name__ == "__main__":
    sys.exit(main())
