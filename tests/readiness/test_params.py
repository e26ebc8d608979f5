"""The readiness section of the parameters: typed, closed, with defaults that a real estate
can start from."""

from __future__ import annotations

import pytest

from ekslift.params import ParamsError, load_params, parse_params
from tests.readiness.estate import BLUE_TG, params


def test_defaults_and_example_files_load() -> None:
    defaults = params().readiness
    assert defaults.min_healthy_per_az == 2 and defaults.peak_lookback_days == 7
    assert defaults.trust_policy_size_limit == 2048
    assert params().regions[0].traffic.alb.owner == "infrastructure"  # type: ignore[union-attr]
    example = load_params("params/example.yaml")
    assert example.readiness.cutover_plans.cronjobs is not None


def test_unknown_keys_and_bad_values_are_named() -> None:
    data = params().model_dump()
    data["readiness"]["cutover_plans"]["cronjob"] = {"green_from": 100}
    data["readiness"]["cutover_plans"]["consumers"] = {"green_from": 150, "blue_paused_from": 100}
    data["readiness"]["database_security_groups"] = ["db-sg"]
    data["regions"][0]["traffic"]["alb"]["green_target_group_arn"] = BLUE_TG
    with pytest.raises(ParamsError) as caught:
        parse_params(data, "bad.yaml")
    text = "\n".join(caught.value.problems)
    assert "readiness.cutover_plans.cronjob: unknown key" in text
    assert "readiness.cutover_plans.consumers.green_from" in text
    assert "readiness.database_security_groups[0]" in text
    assert "own target groups" in text
