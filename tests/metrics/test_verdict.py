"""Combining verdicts: nothing passes by default."""

from __future__ import annotations

from ekslift.metrics.verdict import classify, worst


def test_worst_combines_in_order() -> None:
    assert worst(["pass", "pass"]) == "pass"
    assert worst(["pass", "extend"]) == "extend"
    assert worst(["extend", "hold", "pass"]) == "hold"
    assert worst(["hold", "fail"]) == "fail"
    assert worst([]) == "hold"


def test_classify_by_intervals() -> None:
    common = {"proven_small": False, "extended": False}
    assert classify(1.2, 3.0, 2.0, matters=True, **common) == "fail"
    assert classify(1.2, 1.8, 2.0, matters=False, **common) == "pass"
    assert classify(0.8, 1.9, 2.0, matters=False, **common) == "pass"
    assert classify(0.8, 2.5, 2.0, matters=False, **common) == "extend"
    assert classify(0.8, 2.5, 2.0, matters=False, proven_small=False, extended=True) == "hold"
    assert classify(0.8, 2.5, 2.0, matters=False, proven_small=True, extended=True) == "pass"
