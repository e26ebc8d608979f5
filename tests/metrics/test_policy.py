"""Settings: sane defaults, typos refused, the false-fail budget split honestly."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ekslift.errors import InputError
from ekslift.metrics.policy import JudgeSettings, alpha_per_test, cutover_tests


def test_defaults_plan_a_smoke_step_and_two_proof_steps() -> None:
    settings = JudgeSettings()
    assert [(s.share, s.role, s.error_margin) for s in settings.steps] == [
        (0.05, "smoke", 5.0),
        (0.25, "proof", 2.0),
        (0.5, "proof", 1.5),
    ]


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError):
        JudgeSettings.model_validate({"false_fail_budgt": 0.1})


def test_budget_is_split_over_regions_steps_metrics_and_looks() -> None:
    settings = JudgeSettings()
    # 2 regions × (3 steps × 5 metrics + the bake) × (first look + one extension)
    assert cutover_tests(settings, 2) == 64
    assert alpha_per_test(settings, 2) == pytest.approx(0.05 / 64)


def test_an_unplanned_share_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"no step at green share 0\.1"):
        JudgeSettings().step(0.1)
