"""``ekslift scan``: the API scan from the command line, with pluto's exit codes.

The top-level CLI calls :func:`add_scan_parser` and :func:`run_scan`.  Sources are plug-ins:
each entry of :data:`SOURCES` says when it applies to the parsed arguments and returns a
:class:`SourceResult`; file paths are the built-in source, and cluster sources (Helm
releases, live objects, Upgrade Insights) register themselves with :func:`register_source`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from ekslift.kube import KubeError
from ekslift.params import ParamsError

from .facts import FactsError, FactSet, Targets, TargetVersionError, load_facts
from .findings import EXIT_ERROR, Finding, ScanProblem, ScanReport
from .fix import suggest_fixes
from .manifests import DEFAULT_MAX_FILE_SIZE, ScanOptions, scan_manifests
from .report import FORMATS, render


@dataclass(frozen=True)
class ScanContext:
    """What every source gets: the facts, the targets and the parsed arguments."""

    facts: FactSet
    targets: Targets
    args: argparse.Namespace


@dataclass
class SourceResult:
    label: str
    findings: list[Finding] = field(default_factory=list)
    problems: list[ScanProblem] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ScanSource:
    """A source plug-in: ``applies(args)`` selects it, ``run(context)`` scans."""

    name: str
    applies: Callable[[argparse.Namespace], bool]
    run: Callable[[ScanContext], SourceResult]


def _file_source(context: ScanContext) -> SourceResult:
    args = context.args
    options = ScanOptions(max_file_size=args.max_file_size, strict=args.strict)
    result = scan_manifests(args.paths, context.facts, context.targets, options)
    return SourceResult(
        label="files",
        findings=result.findings,
        problems=result.problems,
        stats={**result.stats(), "syntax_checked_all": int(args.strict)},
    )


SOURCES: list[ScanSource] = [
    ScanSource(name="files", applies=lambda args: bool(args.paths), run=_file_source)
]


def register_source(source: ScanSource) -> None:
    """Add (or replace, by name) a source such as ``helm``, ``live`` or ``insights``."""
    SOURCES[:] = [s for s in SOURCES if s.name != source.name]
    SOURCES.append(source)


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
    # Imported here: the sources import this module's SourceResult and register_source.
    from .sources.registry import add_source_arguments

    add_source_arguments(parser)


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


def build_targets(facts: FactSet, args: argparse.Namespace) -> Targets:
    from .sources.registry import default_target

    version = args.target_version or default_target(args)
    if not version:
        raise TargetVersionError(
            "no --target-version given; name the version you upgrade to "
            f"(known: {', '.join(facts.known_versions())})"
        )
    components = dict(facts.parse_component_target(spec) for spec in args.component_version)
    return Targets(facts.parse_target(version), components)


def run_scan(
    args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the scan for parsed ``args``; returns the exit code (pluto's codes)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        facts = load_facts(args.facts)
        if args.list_versions:
            return _list_versions(facts, stdout)
        targets = build_targets(facts, args)
    except (FactsError, TargetVersionError, ParamsError, KubeError) as exc:
        stderr.write(f"ekslift scan: {exc}\n")
        return EXIT_ERROR
    context = ScanContext(facts=facts, targets=targets, args=args)
    selected = [source for source in SOURCES if source.applies(args)]
    if not selected:
        stderr.write(
            "ekslift scan: nothing to scan; give PATHs (or - for stdin), --chart, or "
            "--helm/--live/--insights\n"
        )
        return EXIT_ERROR
    findings: list[Finding] = []
    problems: list[ScanProblem] = []
    stats: dict[str, int] = {}
    for source in selected:
        result = source.run(context)
        findings += result.findings
        problems += result.problems
        stats.update({f"{result.label}.{k}": v for k, v in result.stats.items()})
    report = ScanReport(
        targets=targets,
        findings=tuple(findings),
        problems=tuple(problems),
        sources_scanned=tuple(source.name for source in selected),
        stats=stats,
    )
    rendered = render(report, args.output, facts)
    if args.suggest_fix:
        fixes = suggest_fixes(report.findings, facts, targets)
        stderr.write(rendered)
        for manual in fixes.manual:
            stderr.write(f"no diff for {manual.finding.location}: {manual.reason}\n")
        stdout.write(fixes.patch)
    else:
        stdout.write(rendered)
    return report.exit_code(args.ignore_deprecations, args.ignore_removals)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ekslift scan")
    configure_scan_parser(parser)
    return run_scan(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
