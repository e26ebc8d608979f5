"""Rate ratios: the GLM recovers a known ratio, overdispersion widens, empty colours go exact."""

from __future__ import annotations

import numpy as np

from ekslift.metrics.rates import rate_bounds, rate_ratio

ALPHA = 0.001


def test_glm_recovers_a_known_ratio() -> None:
    rng = np.random.default_rng(1)
    blue_n, green_n = np.full(60, 9000.0), np.full(60, 3000.0)
    found = rate_ratio(
        blue_n,
        green_n,
        rng.poisson(blue_n * 0.001) * 1.0,
        rng.poisson(green_n * 0.003) * 1.0,
        ALPHA,
    )
    assert found.lower < 3 < found.upper
    assert found.lower > 1
    assert found.method.startswith("quasi-Poisson GLM")


def test_overdispersion_widens_the_interval() -> None:
    rng = np.random.default_rng(2)
    blue_n, green_n = np.full(60, 9000.0), np.full(60, 3000.0)
    calm = rate_ratio(
        blue_n,
        green_n,
        rng.poisson(blue_n * 0.002) * 1.0,
        rng.poisson(green_n * 0.002) * 1.0,
        ALPHA,
    )
    # Each colour's rate wanders on its own from minute to minute (gamma-Poisson).
    wander = rng.gamma(2.0, 0.5, (2, 60))
    noisy = rate_ratio(
        blue_n,
        green_n,
        rng.poisson(blue_n * 0.002 * wander[0]) * 1.0,
        rng.poisson(green_n * 0.002 * wander[1]) * 1.0,
        ALPHA,
    )
    assert noisy.dispersion is not None and calm.dispersion is not None
    assert noisy.dispersion > 2 * calm.dispersion
    assert np.log(noisy.upper / noisy.lower) > np.log(calm.upper / calm.lower)


def test_dispersion_is_never_below_poisson() -> None:
    steady = rate_ratio(
        np.full(30, 1000.0),
        np.full(30, 1000.0),
        np.tile([2.0, 3.0], 15),
        np.tile([3.0, 2.0], 15),
        ALPHA,
    )
    assert steady.dispersion == 1.0


def test_no_errors_on_blue_uses_the_exact_conditional_interval() -> None:
    found = rate_ratio(
        np.full(30, 3000.0), np.full(30, 1000.0), np.zeros(30), np.full(30, 1.0), ALPHA
    )
    assert found.method == "exact conditional binomial"
    assert found.lower > 1 and np.isinf(found.upper)


def test_no_errors_anywhere_bounds_nothing() -> None:
    found = rate_ratio(np.full(30, 3000.0), np.full(30, 1000.0), np.zeros(30), np.zeros(30), ALPHA)
    assert found.lower == 0 and np.isinf(found.upper)


def test_single_rate_bounds_cover_the_rate() -> None:
    rng = np.random.default_rng(3)
    requests = np.full(60, 5000.0)
    found = rate_bounds(requests, rng.poisson(requests * 0.002) * 1.0, ALPHA)
    assert found.lower < 0.002 < found.upper
    empty = rate_bounds(requests, np.zeros(60), ALPHA)
    assert empty.method == "exact Poisson (Garwood)"
    assert empty.upper == -np.log(ALPHA) / requests.sum()
