"""Soak plans: low traffic makes 5 % a smoke step and may push a step past the cap."""

from __future__ import annotations

import pytest

from ekslift.errors import InputError
from ekslift.metrics.policy import JudgeSettings
from ekslift.metrics.soak import plan_soaks

SETTINGS = JudgeSettings()


def test_low_traffic_plan() -> None:
    smoke, quarter, half, bake = plan_soaks(20, 0.001, SETTINGS, regions=2)
    assert smoke.role == "smoke" and smoke.proves.startswith("smoke")
    assert quarter.feasible and quarter.soak_minutes > 2 * SETTINGS.min_soak_minutes
    assert not half.feasible and half.soak_minutes == SETTINGS.max_soak_minutes
    assert half.proves.startswith("hold")
    assert bake.share == 1.0 and bake.feasible


def test_high_traffic_needs_only_the_floor_at_smoke() -> None:
    rows = plan_soaks(2000, 0.001, SETTINGS, regions=2)
    assert all(row.feasible for row in rows)
    assert rows[0].soak_minutes == SETTINGS.min_soak_minutes + SETTINGS.warmup_minutes


def test_more_traffic_never_needs_a_longer_soak() -> None:
    slow = plan_soaks(20, 0.001, SETTINGS, regions=2)
    fast = plan_soaks(200, 0.001, SETTINGS, regions=2)
    assert all(f.soak_minutes <= s.soak_minutes for f, s in zip(fast, slow, strict=True))


def test_a_burn_above_the_threshold_cannot_be_baked() -> None:
    bake = plan_soaks(200, 0.01, SETTINGS, regions=2)[-1]
    assert not bake.feasible


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(InputError):
        plan_soaks(0, 0.001, SETTINGS, regions=2)
