"""Step 5 against the sandbox: step 4's weight history reviewed, the CLI's exit codes."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ekslift.metrics.backend import WeightChange
from ekslift.metrics.weights import HISTORY, write_history
from ekslift.params import load_params
from ekslift.review.judge import judge_review
from ekslift.review.read import read_review

pytestmark = pytest.mark.sandbox
EKSLIFT = str(Path(".venv/bin/ekslift").resolve())


def test_review_follows_step_4s_weight_history(sandbox, tmp_path) -> None:
    """The seeded history has green at 5 %: a history saying 5 % from 50 minutes ago is
    reviewed as one 5 % step with its weights, not the traffic's."""
    params = load_params("params/demo.yaml")
    now = datetime.now(UTC)
    start = (now - timedelta(minutes=50)).replace(second=0, microsecond=0)
    write_history(tmp_path / HISTORY, [(r.name, WeightChange(start, 0.05)) for r in params.regions])
    review = read_review(params, tmp_path, now=now)
    assert review.source == "step 4" and review.start == start
    assert all(r.weights_from == "step 4" and r.window is not None for r in review.regions)
    verdicts = judge_review(review)
    shares = {(s.region, s.share) for s in verdicts.steps}
    assert shares == {(r.name, 0.05) for r in params.regions}
    assert all(s.verdict.judged_minutes > 20 for s in verdicts.steps)
    assert all(s.verdict.verdict != "fail" for s in verdicts.steps), verdicts.steps
    assert all(not r.ready and r.blue_weight == 100 for r in verdicts.retirements)


def test_cli_review_and_judge(sandbox) -> None:
    now = datetime.now(UTC)
    since = (now - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%MZ")
    done = subprocess.run(
        [EKSLIFT, "review", "--params", "params/demo.yaml", "--since", since],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "05-metrics-review:" in done.stdout and "Retiring blue" in done.stdout
    window = f"{since}/{(now - timedelta(minutes=5)).strftime('%Y-%m-%dT%H:%MZ')}"
    judged = subprocess.run(
        [
            EKSLIFT,
            "judge",
            "--params",
            "params/demo.yaml",
            "--region",
            "us-east-1",
            "--window",
            window,
            "--share",
            "5",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert judged.returncode in (0, 1), judged.stderr
    assert "us-east-1 at 5%" in judged.stdout and "target_5xx" in judged.stdout
    plan = subprocess.run(
        [
            EKSLIFT,
            "judge",
            "plan",
            "--params",
            "params/demo.yaml",
            "--rate",
            "20",
            "--error-rate",
            "0.002",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=300,
    )
    assert plan.returncode == 0 and "soak plan at 20.0 requests/s" in plan.stdout
    naive = subprocess.run(
        [EKSLIFT, "review", "--params", "params/demo.yaml", "--since", "2026-11-28T10:00"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert naive.returncode == 2 and "no time zone" in naive.stderr
