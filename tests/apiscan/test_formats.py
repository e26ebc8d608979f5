"""Renderers, merge across sources, and pluto's exit codes."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
from pathlib import Path

import pytest
from packaging.version import Version

from ekslift.apiscan.cli import configure_scan_parser, run_scan
from ekslift.apiscan.facts import Targets, load_facts
from ekslift.apiscan.formats import SCHEMA_VERSION, render, sarif_dict
from ekslift.apiscan.sightings import ScanProblem, ScanReport, Sighting

PDB = "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata:\n  name: web\n"
TARGETS = Targets(Version("1.29"))


def sighting(source: str = "file", **kw: object) -> Sighting:
    base: dict[str, object] = {
        "source": source,
        "kind": "PodDisruptionBudget",
        "api_version": "policy/v1beta1",
        "name": "web",
        "namespace": "prod",
        "rule": "policy/v1beta1/PodDisruptionBudget",
        "status": "removed",
        "replacement": "policy/v1",
    }
    base.update(kw)
    return Sighting(**base)  # type: ignore[arg-type]


def scan(argv: list[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    configure_scan_parser(parser)
    out, err = io.StringIO(), io.StringIO()
    code = run_scan(parser.parse_args(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "severities, problems, flags, expected",
    [
        ([], [], {}, 0),
        ([], ["error"], {}, 1),
        ([], ["warning"], {}, 0),
        (["deprecated"], ["error"], {}, 2),
        (["deprecated", "removed"], [], {}, 3),
        (["removed", "replacement-unavailable"], [], {}, 4),
        (["removed", "deprecated"], [], {"ignore_removals": True}, 2),
        (["removed", "deprecated"], [], {"ignore_deprecations": True}, 3),
        (["replacement-unavailable"], [], {"ignore_deprecations": True}, 0),
        (["removed"], ["error"], {"ignore_removals": True}, 1),
    ],
)
def test_exit_codes(
    severities: list[str], problems: list[str], flags: dict[str, bool], expected: int
) -> None:
    report = ScanReport(
        targets=TARGETS,
        sightings=tuple(sighting(name=f"o{i}", status=s) for i, s in enumerate(severities)),
        problems=tuple(ScanProblem("f.yaml", "bad", level=lv) for lv in problems),  # type: ignore[arg-type]
    )
    assert report.exit_code(**flags) == expected


def test_removal_plus_unreadable_file_exits_3_and_lists_the_file(tmp_path: Path) -> None:
    (tmp_path / "pdb.yaml").write_text(PDB)
    os.symlink(tmp_path / "missing.yaml", tmp_path / "broken.yaml")
    code, out, _ = scan([str(tmp_path), "-t", "1.29"])
    assert code == 3
    assert "broken.yaml" in out and "cannot read" in out
    code, out, _ = scan([str(tmp_path), "-t", "1.29", "-o", "json"])
    doc = json.loads(out)
    assert code == 3 and doc["exit_code"] == 3
    assert doc["problems"][0]["file"].endswith("broken.yaml")


def test_json_carries_schema_version_rows_and_findings(tmp_path: Path) -> None:
    (tmp_path / "pdb.yaml").write_text(PDB)
    _, out, _ = scan([str(tmp_path), "-t", "v1.29.3", "-o", "json"])
    doc = json.loads(out)
    assert doc["schema_version"] == SCHEMA_VERSION
    assert doc["target_versions"] == {"k8s": "1.29.3"}
    row = doc["rows"][0]
    assert (row["severity"], row["name"], row["sources"]) == ("removed", "web", ["file"])
    assert row["findings"][0]["line"] == 1
    assert doc["summary"]["removed"] == 1


def test_sarif_is_structurally_valid(tmp_path: Path) -> None:
    (tmp_path / "pdb.yaml").write_text("# head\n" + PDB)
    (tmp_path / "cron.yaml").write_text(
        PDB.replace("policy", "batch").replace("PodDisruptionBudget", "CronJob")
    )
    _, out, _ = scan([str(tmp_path), "-t", "1.29", "-o", "sarif"])
    doc = json.loads(out)
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == {
        "policy/v1beta1/PodDisruptionBudget",
        "batch/v1beta1/CronJob",
    }
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["helpUri"].startswith("https://")
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note", "none")
        assert result["message"]["text"]
        (location,) = result["locations"]
        region = location["physicalLocation"]["region"]
        assert isinstance(region["startLine"], int) and region["startLine"] >= 1
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert (
        by_rule["policy/v1beta1/PodDisruptionBudget"]["locations"][0]["physicalLocation"]["region"][
            "startLine"
        ]
        == 2
    )
    assert by_rule["batch/v1beta1/CronJob"]["level"] == "error"


def test_sarif_levels_and_file_findings_only() -> None:
    facts = load_facts()
    report = ScanReport(
        targets=Targets(Version("1.19")),
        sightings=(
            sighting(file="a.yaml", line=3, status="deprecated"),
            sighting(source="live", name="other", cluster="blue"),
            sighting(file="<stdin>", line=1, name="piped"),
        ),
    )
    (run,) = sarif_dict(report, facts)["runs"]
    assert [r["level"] for r in run["results"]] == ["warning"]


def test_a_live_object_never_clears_a_stale_release_manifest() -> None:
    report = ScanReport(
        targets=TARGETS,
        sightings=(
            sighting("helm-release", cluster="blue"),
            sighting("live", cluster="blue", api_version="policy/v1", rule=None, status=None),
        ),
    )
    (row,) = report.rows()
    assert row.sources == ("helm-release", "live")
    assert row.status == "removed" and row.lead.source == "helm-release"
    assert row.must_change == ("helm-release",)
    assert "serves the object at policy/v1" in row.note and "mapkubeapis" in row.note
    assert report.exit_code() == 3


def test_same_object_from_two_sources_is_one_row() -> None:
    report = ScanReport(
        targets=TARGETS,
        sightings=(
            sighting("chart", cluster="blue"),
            sighting("last-applied", cluster="blue"),
            sighting("file", file="x.yaml", line=1),  # no cluster: a different object
        ),
    )
    rows = report.rows()
    assert len(rows) == 2
    merged = next(r for r in rows if len(r.sightings) == 2)
    assert merged.sources == ("last-applied", "chart") and not merged.disagreement


@pytest.mark.parametrize("fmt", ["text", "csv", "markdown"])
def test_tabular_renderers(fmt: str) -> None:
    facts = load_facts()
    report = ScanReport(
        targets=TARGETS,
        sightings=(sighting(file="a.yaml", line=3, note="pipe | inside"),),
        problems=(ScanProblem("b.yaml", "cannot read file: gone"),),
    )
    out = render(report, fmt, facts)
    assert "PodDisruptionBudget" in out and "web" in out
    if fmt == "csv":
        (row,) = list(csv.DictReader(io.StringIO(out)))
        assert row["location"] == "a.yaml:3" and row["severity"] == "removed"
    else:
        assert "b.yaml" in out
    if fmt == "markdown":
        assert "pipe \\| inside" in out


def test_cli_errors_and_list_versions(tmp_path: Path) -> None:
    code, _, err = scan([str(tmp_path)])
    assert code == 1 and "no --target-version" in err and "1.36" in err
    code, _, err = scan([str(tmp_path), "-t", "1.12"])
    assert code == 1 and "known: 1.16" in err
    code, out, _ = scan(["--list-versions"])
    assert code == 0 and "1.32" in out and "1.36" in out
    code, _, err = scan(["-t", "1.30"])
    assert code == 1 and "nothing to scan" in err


def test_cli_clean_scan(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(PDB.replace("v1beta1", "v1"))
    code, out, _ = scan([str(tmp_path), "-t", "1.30"])
    assert code == 0 and "No objects" in out
