"""Version order and constraints, and the controller table."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.version import Version

from ekslift.chartdiff.controllers import (
    ControllerTableError,
    judge_controller,
    load_controllers,
    retirement,
)
from ekslift.chartdiff.versions import chart_version, jump, satisfies


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        (">=1.29.0-0", "1.35.0", True),
        (">=1.30.0-0 <1.31.0-0", "1.35.0", False),
        (">=1.30.0-0 <1.31.0-0", "1.30.0", True),
        (">= 1.19.0-0", "1.34.0", True),
        ("<1.25.0-0", "1.24.9", True),
        ("^1.2", "1.9.0", True),
        ("^1.2", "2.0.0", False),
        ("~1.2", "1.2.9", True),
        ("~1.2", "1.3.0", False),
        ("1.x", "1.5.0", True),
        ("<=2.1.0", "2.1.0", True),
        (">=1.20 <1.22 || >=1.30", "1.34.0", True),
        ("1.2.3 - 2.0.0", "1.9.0", True),
        ("not a range", "1.0.0", None),
    ],
)
def test_constraints(constraint: str, version: str, expected: bool | None) -> None:
    assert satisfies(constraint, version) is expected


def test_order_jump_and_prereleases() -> None:
    assert chart_version("v1.2.3+build.5") == Version("1.2.3")
    assert chart_version("1.3.0-rc.1") < chart_version("1.3.0")  # type: ignore[operator]
    assert chart_version("1.3.0-rc.1").is_prerelease  # type: ignore[union-attr]
    assert chart_version("latest") is None
    assert (jump("1.2.3", "2.0.0"), jump("1.2.3", "1.3.0"), jump("1.2.3", "1.2.4")) == (
        "major",
        "minor",
        "patch",
    )
    assert jump("1.2.3", "1.2.3") == "none" and jump("2.0.0", "1.0.0") == "downgrade"


@pytest.fixture(scope="module")
def table():  # type: ignore[no-untyped-def]
    return load_controllers()


def test_cluster_autoscaler_minor_must_match(table) -> None:  # type: ignore[no-untyped-def]
    ca = table["cluster-autoscaler"]
    assert judge_controller(ca, "1.35.2", Version("1.35")).outcome == "ok"
    verdict = judge_controller(ca, "1.30.0", Version("1.35"))
    assert verdict.blocks and "1.35.x" in verdict.reason


def test_published_matrices(table) -> None:  # type: ignore[no-untyped-def]
    karpenter = table["karpenter"]
    assert judge_controller(karpenter, "1.3.3", Version("1.35")).blocks
    assert judge_controller(karpenter, "1.9.1", Version("1.35")).outcome == "ok"
    assert judge_controller(karpenter, "1.9.1", Version("1.36")).blocks
    assert judge_controller(karpenter, "9.0.0", Version("1.35")).outcome == "unknown"
    alb = table["aws-load-balancer-controller"]
    assert judge_controller(alb, "v2.8.1", Version("1.35")).outcome == "ok"
    assert judge_controller(alb, "v2.3.1", Version("1.25")).blocks
    assert judge_controller(table["external-dns"], "0.15.0", Version("1.34")).blocks


def test_ingress_nginx_is_retired_and_only_tested(table) -> None:  # type: ignore[no-untyped-def]
    nginx = table["ingress-nginx"]
    verdict = judge_controller(nginx, "1.11.3", Version("1.34"))
    assert verdict.outcome == "incompatible" and not verdict.blocks  # a tested list: warns
    text = retirement(nginx)
    assert "2026-03-24" in text and "Gateway API" in text
    assert table["aws-vpc-cni"].rule == "eks-addon"


def test_a_broken_table_names_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "controllers.yaml"
    bad.write_text("controllers:\n  x:\n    rule: matrix\n    matrix: [{app: 'nope nope'}]\n")
    with pytest.raises(ControllerTableError, match=r"controllers\.x\.matrix\[0\]"):
        load_controllers(bad)
