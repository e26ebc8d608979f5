"""Error-rate estimates with intervals: green/blue ratios and one colour's rate.

Errors come in bursts (a dependency hiccups, a node drains) that hit both colours in the
same minute, and they are overdispersed. A quasi-Poisson GLM with one effect per minute,
``errors ~ colour + C(minute)`` with offset log(requests), compares the colours *within*
each minute, so a shared burst cancels; the scale from Pearson χ²/df widens the interval
by the overdispersion left over. When one colour has no errors at all the GLM's estimate is
infinite, so the exact conditional binomial interval (given the errors both colours had,
how many fell on green) takes over.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning

from ekslift.metrics.series import FloatArray

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateRatio:
    """Green's error rate over blue's, with one-sided bounds each at level 1 - alpha."""

    blue_requests: int
    green_requests: int
    blue_errors: int
    green_errors: int
    ratio: float
    lower: float
    upper: float
    dispersion: float | None
    minutes: int
    method: str

    @property
    def blue_rate(self) -> float:
        return self.blue_errors / self.blue_requests

    @property
    def green_rate(self) -> float:
        return self.green_errors / self.green_requests


@dataclass(frozen=True)
class RateBounds:
    """One colour's error rate with one-sided bounds each at level 1 - alpha."""

    requests: int
    errors: int
    rate: float
    lower: float
    upper: float
    dispersion: float | None
    method: str


@dataclass(frozen=True)
class _QuasiFit:
    """A Poisson fit's first coefficient with quasi-Poisson bounds."""

    estimate: float
    lower: float
    upper: float
    scale: float
    df: int


def _quasi_poisson(
    endog: FloatArray, exog: FloatArray, requests: FloatArray, alpha: float
) -> _QuasiFit:
    """Fit a Poisson GLM with offset log(requests) and widen its first coefficient's
    interval by the Pearson χ²/df scale (what ``fit(scale="X2")`` would use), with
    Student's t on the residual df since the scale is itself estimated.

    Underdispersion is a small-count artefact, not evidence of extra precision: the scale
    is floored at 1, so the interval is never narrower than the Poisson one.
    """
    model = sm.GLM(endog, exog, family=sm.families.Poisson(), offset=np.log(requests))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = model.fit()
    df = int(result.df_resid)
    scale = max(1.0, float(result.pearson_chi2) / df) if df > 0 else 1.0
    se = float(result.bse[0]) * np.sqrt(scale)
    reach = float(stats.t.ppf(1 - alpha, df)) * se
    beta = float(result.params[0])
    return _QuasiFit(beta, beta - reach, beta + reach, scale, df)


def _minute_effects_design(minutes: int) -> FloatArray:
    """``colour + C(minute)`` as arrays (a green indicator, then one indicator per minute,
    no intercept): the same model as the formula without parsing one per fit. Rows are
    blue's minutes, then green's."""
    exog = np.zeros((2 * minutes, minutes + 1))
    exog[minutes:, 0] = 1.0
    exog[np.arange(2 * minutes), 1 + np.tile(np.arange(minutes), 2)] = 1.0
    return exog


def rate_ratio(
    blue_requests: FloatArray,
    green_requests: FloatArray,
    blue_errors: FloatArray,
    green_errors: FloatArray,
    alpha: float,
) -> RateRatio:
    """Green/blue error-rate ratio over the given minutes, bounds one-sided at ``alpha``.

    Callers pass only judged minutes. The GLM uses only minutes where both colours had
    requests and at least one error: a minute without errors has an effect of -∞ and says
    nothing about the ratio (its conditional likelihood is constant), and fitting it only
    slows IRLS down.
    """
    both = (blue_requests > 0) & (green_requests > 0)
    informative = both & (blue_errors + green_errors > 0)
    totals = {
        "blue_requests": int(blue_requests.sum()),
        "green_requests": int(green_requests.sum()),
        "blue_errors": int(blue_errors.sum()),
        "green_errors": int(green_errors.sum()),
    }
    used = {
        name: values[informative]
        for name, values in (
            ("br", blue_requests),
            ("gr", green_requests),
            ("be", blue_errors),
            ("ge", green_errors),
        )
    }
    if used["be"].sum() > 0 and used["ge"].sum() > 0 and informative.sum() >= 2:
        try:
            fit = _quasi_poisson(
                np.concatenate([used["be"], used["ge"]]),
                _minute_effects_design(int(informative.sum())),
                np.concatenate([used["br"], used["gr"]]),
                alpha,
            )
        except ConvergenceWarning:
            log.info("quasi-Poisson GLM did not converge; using the exact conditional bound")
        else:
            return RateRatio(
                **totals,
                ratio=float(np.exp(fit.estimate)),
                lower=float(np.exp(fit.lower)),
                upper=float(np.exp(fit.upper)),
                dispersion=fit.scale,
                minutes=int(informative.sum()),
                method=f"quasi-Poisson GLM, minute effects, t({fit.df})",
            )
    return _exact_ratio(used, totals, alpha, int(both.sum()))


def _exact_ratio(
    used: dict[str, FloatArray], totals: dict[str, int], alpha: float, minutes: int
) -> RateRatio:
    """Clopper–Pearson on green's share of the errors, turned into a rate ratio.

    Given k errors in both colours, green's count is binomial with p = θr/(θr + 1), r the
    requests' green/blue ratio; inverting the exact interval on p bounds θ. It ignores
    overdispersion, which cannot be estimated from an empty colour anyway.
    """
    green, total = int(used["ge"].sum()), int(used["ge"].sum() + used["be"].sum())
    odds = float(used["br"].sum() / used["gr"].sum()) if used["gr"].sum() > 0 else np.nan
    if total == 0 or np.isnan(odds):
        ratio, lower, upper = np.nan, 0.0, np.inf
    else:
        ci = stats.binomtest(green, total).proportion_ci(confidence_level=1 - 2 * alpha)

        def theta(p: float) -> float:
            return np.inf if p >= 1 else p / (1 - p) * odds

        ratio = theta(green / total)
        lower, upper = theta(ci.low), theta(ci.high)
    return RateRatio(
        **totals,
        ratio=float(ratio),
        lower=float(lower),
        upper=float(upper),
        dispersion=None,
        minutes=minutes,
        method="exact conditional binomial",
    )


def rate_bounds(requests: FloatArray, errors: FloatArray, alpha: float) -> RateBounds:
    """One colour's error rate: an intercept-only quasi-Poisson GLM (bursts are not
    cancelled by a comparison here, so overdispersion must widen the interval), or the
    exact Poisson (Garwood) interval when there are no errors to estimate a scale from."""
    has = requests > 0
    n, k = int(requests[has].sum()), int(errors[has].sum())
    if k > 0 and has.sum() >= 2:
        fit = _quasi_poisson(errors[has], np.ones((int(has.sum()), 1)), requests[has], alpha)
        return RateBounds(
            requests=n,
            errors=k,
            rate=k / n,
            lower=float(np.exp(fit.lower)),
            upper=float(np.exp(fit.upper)),
            dispersion=fit.scale,
            method=f"quasi-Poisson GLM, t({fit.df})",
        )
    lower = float(stats.chi2.ppf(alpha, 2 * k) / 2) if k > 0 else 0.0
    upper = float(stats.chi2.ppf(1 - alpha, 2 * (k + 1)) / 2)
    return RateBounds(
        requests=n,
        errors=k,
        rate=k / n if n else float("nan"),
        lower=lower / n if n else 0.0,
        upper=upper / n if n else float("inf"),
        dispersion=None,
        method="exact Poisson (Garwood)",
    )
