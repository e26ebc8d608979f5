"""Dev before prod: a prod shift needs a passing lower run with a rollback drill, and every
difference from it is shown."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from ekslift import archive
from ekslift.errors import InputError
from ekslift.gate import StepResult
from ekslift.notebook import StepContext
from ekslift.params import load_params
from ekslift.traffic import STEP, promotion, runbook
from ekslift.traffic.apply import apply_shift
from ekslift.traffic.approval import write_approval
from ekslift.traffic.state import Record
from tests.traffic.conftest import APPROVER, Estate, services

CHARTS = {
    "photos/app": ("photos", "1.4.0"),
    "kube-system/metrics-server": ("metrics-server", "3.12.1"),
}


def chart_diff(charts: dict[str, tuple[str, str]]) -> str:
    proposals = []
    for app, (chart, version) in charts.items():
        namespace, release = app.split("/")
        proposals.append(
            {
                "deployment": {"namespace": namespace, "release": release, "chart": chart},
                "current": version,
                "proposed": "",
            }
        )
    return json.dumps({"proposals": proposals})


def lower_run(
    root: Path,
    run_id: str,
    *,
    environment: str = "dev",
    target: str = "1.34",
    charts: dict[str, tuple[str, str]] | None = CHARTS,
    rolled_back: bool = True,
    verdict: str = "pass",
    waivers: list[str] = (),
) -> Path:
    """An archived run as the runner leaves it: params copy, manifest, results, artefacts."""
    run_dir = root / run_id
    (run_dir / "results").mkdir(parents=True)
    params = {
        "name": "photos-dev",
        "environment": environment,
        "target_version": target,
        "waivers": [
            {"id": w, "reason": "accepted for the test", "accepted_by": "x"} for w in waivers
        ],
    }
    (run_dir / archive.PARAMS_COPY).write_text(yaml.safe_dump(params))
    if charts is not None:
        path = run_dir / promotion.CHART_DIFF_JSON
        path.parent.mkdir(parents=True)
        path.write_text(chart_diff(charts))
    state = run_dir / promotion.STATE_PATH
    state.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    records = [Record(now, "region", "us-east-1", {"status": "shifted", "reason": "100 %"})]
    if rolled_back:
        records.insert(
            0, Record(now, "region", "us-east-1", {"status": "rolled-back", "reason": "manual"})
        )
    state.write_text("".join(r.to_json() + "\n" for r in records))
    steps = [
        archive.StepRecord(
            step=step, notebook=f"{step}.ipynb", status="done", verdict=verdict, started_at=now
        )
        for step in ("01-inventory", "02-api-scan", "03-chart-diff", STEP)
    ]
    manifest = archive.Manifest(
        run_id=run_id,
        name="photos-dev",
        environment=environment,
        operator="ci",
        started_at=now,
        versions={},
        params_sha256="0" * 64,
        params_dir=str(root),
        steps=steps,
    )
    archive.save_manifest(run_dir, manifest)
    return run_dir


def prod(estate: Estate, tmp_path: Path, **extra: Any) -> Estate:
    """The estate's parameters as a prod run promoted from dev, approved, with step 3 run."""
    data = yaml.safe_load(estate.params_path.read_text())
    data.update(
        environment="prod",
        promotion={"requires": ["dev"], "archive": str(tmp_path / "lower")},
        **extra,
    )
    estate.params_path.write_text(yaml.safe_dump(data))
    estate.params = load_params(estate.params_path)
    write_approval(estate.params, estate.params_path, APPROVER, "tests")
    path = estate.run_dir / promotion.CHART_DIFF_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(chart_diff(CHARTS))
    return estate


def test_prod_apply_without_a_passing_dev_run_is_refused(estate: Estate, tmp_path: Path) -> None:
    prod(estate, tmp_path)
    lower_run(tmp_path / "lower", "20260101T000000Z-photos-dev", verdict="fail")
    with pytest.raises(InputError, match=r"no passing run to 1\.34 in dev") as raised:
        apply_shift(estate.params, estate.params_path, estate.run_dir, services=services(estate))
    assert "rollback drill" in str(raised.value)
    assert estate.green_shares() == {0}


def test_prod_named_environment_must_name_its_lower_one(estate: Estate) -> None:
    data = yaml.safe_load(estate.params_path.read_text())
    data["environment"] = "production"
    params = load_params_from(estate, data)
    found = promotion.check(params, estate.run_dir)
    assert [f.id for f in found.findings] == ["traffic/promotion/not-configured"]


def load_params_from(estate: Estate, data: dict[str, Any]):
    estate.params_path.write_text(yaml.safe_dump(data))
    return load_params(estate.params_path)


def test_prod_apply_with_a_passing_dev_run_proceeds(estate: Estate, tmp_path: Path) -> None:
    prod(estate, tmp_path)
    lower_run(tmp_path / "lower", "20260101T000000Z-photos-dev")
    outcomes = apply_shift(
        estate.params, estate.params_path, estate.run_dir, services=services(estate)
    )
    assert [o.status for o in outcomes] == ["shifted"]


def test_a_drill_is_required(estate: Estate, tmp_path: Path) -> None:
    prod(estate, tmp_path)
    lower_run(tmp_path / "lower", "20260101T000000Z-photos-dev", rolled_back=False)
    found = promotion.check(estate.params, estate.run_dir)
    assert "traffic/promotion/no-drill" in {f.id for f in found.findings}
    # An earlier run of the same environment and target that rolled back is the drill.
    lower_run(tmp_path / "lower", "20251231T000000Z-photos-dev", verdict="fail")
    found = promotion.check(estate.params, estate.run_dir)
    assert promotion.blockers(found) == []
    assert found.drill is not None and found.drill.run_id == "20251231T000000Z-photos-dev"


def test_differing_chart_version_is_listed(estate: Estate, tmp_path: Path) -> None:
    prod(estate, tmp_path)
    bumped = {**CHARTS, "photos/app": ("photos", "1.5.0")}
    lower_run(tmp_path / "lower", "20260101T000000Z-photos-dev", charts=bumped)
    found = promotion.check(estate.params, estate.run_dir)
    blocker = next(f for f in found.findings if f.id == "traffic/promotion/chart/photos/app")
    assert blocker.severity == "blocker"
    assert blocker.title == "photos/app: photos 1.4.0 here, photos 1.5.0 in dev"
    rows = {d.what: (d.lower, d.here) for d in found.differences}
    assert rows["chart photos/app"] == ("photos 1.5.0", "photos 1.4.0")
    assert rows["target version"] == ("1.34", "1.34")


def test_step_3_missing_is_a_blocker(estate: Estate, tmp_path: Path) -> None:
    prod(estate, tmp_path)
    lower_run(tmp_path / "lower", "20260101T000000Z-photos-dev", charts=None)
    found = promotion.check(estate.params, estate.run_dir)
    blocker = next(f for f in found.findings if f.id == "traffic/promotion/no-chart-diff")
    assert "run 20260101T000000Z-photos-dev" in blocker.title
    assert "this run" not in blocker.title


def test_an_extra_prod_waiver_is_called_out(estate: Estate, tmp_path: Path) -> None:
    waiver = {"id": "inventory/*/quota", "reason": "quota raise approved", "accepted_by": "ops"}
    prod(estate, tmp_path, waivers=[waiver])
    lower_run(tmp_path / "lower", "20260101T000000Z-photos-dev")
    found = promotion.check(estate.params, estate.run_dir)
    warning = next(
        f for f in found.findings if f.id == "traffic/promotion/waiver/inventory/*/quota"
    )
    assert warning.severity == "warning"
    assert promotion.blockers(found) == []


def test_a_sandbox_run_needs_no_promotion(estate: Estate) -> None:
    found = promotion.check(estate.params, estate.run_dir)
    assert not found.required and not found.findings


def test_notebook_result_carries_the_approval(estate: Estate, tmp_path: Path) -> None:
    apply_shift(estate.params, estate.params_path, estate.run_dir, services=services(estate))
    ctx = StepContext(STEP, estate.params, estate.run_dir, estate.run_dir / "artefacts" / STEP)
    result: StepResult = runbook.conclude(ctx)
    assert [a.approver_person for a in result.approvals] == ["approver"]
    assert "traffic/approval" in {f.id for f in result.findings}
