"""The bundled EKS calendar: the fallback when DescribeClusterVersions is not allowed."""

from __future__ import annotations

from datetime import date

from ekslift.inventory.eks import bundled_calendar


def test_calendar_reaches_the_newest_version_eks_offers() -> None:
    calendar = bundled_calendar()
    assert [f"1.{minor}" for minor in range(28, 37)] == sorted(calendar, key=lambda v: int(v[2:]))
    newest = calendar["1.36"]
    assert (newest.release_date, newest.end_of_standard, newest.end_of_extended) == (
        date(2026, 6, 2),
        date(2027, 8, 2),
        date(2028, 8, 2),
    )
    assert calendar["1.31"].end_of_extended == date(2026, 11, 26)


def test_support_windows_follow_the_published_policy() -> None:
    """14 months of standard support after the EKS release, then 12 months of extended."""
    for window in bundled_calendar().values():
        assert window.release_date and window.end_of_standard and window.end_of_extended
        months = (window.end_of_standard.year - window.release_date.year) * 12 + (
            window.end_of_standard.month - window.release_date.month
        )
        assert months == 14, window.version
        assert window.end_of_extended == window.end_of_standard.replace(
            year=window.end_of_standard.year + 1
        )
