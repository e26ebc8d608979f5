"""CloudWatch metric reads as AWS answers them, where moto 5.2 does not.

moto 5.2 stores PutMetricData faithfully enough but reads it back wrongly for what the
metrics judge needs: a ``pNN`` statistic is a server error, metric math answers nothing,
``ExtendedStatistics`` is ignored, and with Dimensions the namespace is not checked.
:class:`CloudWatchExtraResponse` (moto's ``CloudWatchResponse`` subclassed, installed into
``moto.cloudwatch.urls.url_paths`` by :func:`install`) re-implements GetMetricData and
GetMetricStatistics on moto's stored data, and stores ``Values``/``Counts`` as one weighted
datum per value instead of ``count`` copies, so histograms with large counts stay cheap.

Supported, deliberately small:

* statistics ``SampleCount``, ``Sum``, ``Average``, ``Minimum``, ``Maximum``, ``pNN[.N]``
  (nearest rank over the weighted values), ``tmNN``, ``TM(a%:b%)`` and ``IQM`` (trimmed
  means); percentiles of StatisticValues sets only where AWS has them (SampleCount 1 or
  Minimum == Maximum);
* a metric is one namespace + name + exact dimension set (+ unit if given), as in AWS;
* PutCompositeAlarm (not routed by moto), stored as moto's own alarms with a rule;
* metric math: numbers, query ids, ``+ - * /``, parentheses, unary minus, ``METRICS()``,
  ``METRICS("text")`` (ids containing text), ``[a, b]``, ``SUM``/``AVG``/``MIN``/``MAX``
  (of an array: per timestamp; of one series: a scalar), ``ABS``/``CEIL``/``FLOOR``,
  ``FILL(x, number | REPEAT | LINEAR)``.

Anything else (other functions, Metrics Insights ``SELECT``) is a ``ValidationError``,
as AWS answers an expression it cannot evaluate; never a silently empty result.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import moto.cloudwatch.urls
from moto.cloudwatch.exceptions import (
    InvalidParameterCombination,
    InvalidParameterValue,
    ValidationError,
)
from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum, MetricDatumBase
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult, EmptyResult

BASIC_STATISTICS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")
_TRIMMED_SHORT = re.compile(r"^tm(\d{1,2}(?:\.\d+)?)$")
_TRIMMED_RANGE = re.compile(r"^TM\((\d{1,3}(?:\.\d+)?)?%:(\d{1,3}(?:\.\d+)?)?%\)$")


class WeightedDatum(MetricDatum):
    """A value put ``count`` times (PutMetricData ``Values`` with ``Counts``)."""

    def __init__(self, *args: Any, count: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count = count


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# ------------------------------------------------------------------------------ statistics


@dataclass
class Sample:
    """The data of one metric in one period, reduced to what statistics need."""

    weighted: list[tuple[float, float]]  # (value, count), from single values
    aggregates: list[MetricAggregatedDatum]  # StatisticValues sets
    unit: str | None = None

    @property
    def count(self) -> float:
        return sum(w for _, w in self.weighted) + sum(a.sample_count for a in self.aggregates)

    def basic(self, stat: str) -> float | None:
        if not self.weighted and not self.aggregates:
            return None
        total = sum(v * w for v, w in self.weighted) + sum(a.sum for a in self.aggregates)
        if stat == "SampleCount":
            return self.count
        if stat == "Sum":
            return total
        if stat == "Average":
            return total / self.count if self.count else None
        if stat == "Minimum":
            return min([v for v, _ in self.weighted] + [a.min for a in self.aggregates])
        return max([v for v, _ in self.weighted] + [a.max for a in self.aggregates])

    def _ranked(self) -> list[tuple[float, float]] | None:
        """All values with their weights, sorted; None where AWS has no percentiles."""
        values = list(self.weighted)
        for agg in self.aggregates:
            if agg.sample_count == 1 or agg.min == agg.max:
                values.append((agg.min, agg.sample_count))
            else:
                return None
        if not values or any(v < 0 for v, _ in values):
            return None
        return sorted(values)

    def percentile(self, p: float) -> float | None:
        ranked = self._ranked()
        if ranked is None:
            return None
        rank = math.ceil(p / 100 * sum(w for _, w in ranked))
        seen = 0.0
        for value, weight in ranked:
            seen += weight
            if seen >= rank:
                return value
        return ranked[-1][0]

    def trimmed_mean(self, low: float, high: float) -> float | None:
        """Mean of the values ranked between the ``low`` and ``high`` percentiles."""
        ranked = self._ranked()
        if ranked is None or high <= low:
            return None
        n = sum(w for _, w in ranked)
        lo, hi = low / 100 * n, high / 100 * n
        total = kept = 0.0
        start = 0.0
        for value, weight in ranked:
            overlap = max(0.0, min(start + weight, hi) - max(start, lo))
            total += overlap * value
            kept += overlap
            start += weight
        return total / kept if kept else None


def statistic(stat: str) -> Callable[[Sample], float | None]:
    """The function computing ``stat``, or ValidationError if AWS would refuse it."""
    if stat in BASIC_STATISTICS:
        return lambda s: s.basic(stat)
    if stat == "IQM":
        return lambda s: s.trimmed_mean(25, 75)
    if m := _PERCENTILE.match(stat):
        p = float(m.group(1))
        return lambda s: s.percentile(p)
    if m := _TRIMMED_SHORT.match(stat):
        high = float(m.group(1))
        return lambda s: s.trimmed_mean(0, high)
    if m := _TRIMMED_RANGE.match(stat):
        low, high = float(m.group(1) or 0), float(m.group(2) or 100)
        if high <= 100:
            return lambda s: s.trimmed_mean(low, high)
    raise ValidationError(
        f"The statistic {stat} is not supported by the ekslift sandbox (supported: "
        f"{', '.join(BASIC_STATISTICS)}, pNN, tmNN, TM(a%:b%), IQM)."
    )


# ------------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class MetricId:
    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]]

    @classmethod
    def from_api(cls, metric: dict[str, Any]) -> MetricId:
        return cls(
            metric["Namespace"],
            metric["MetricName"],
            frozenset((d["Name"], d["Value"]) for d in metric.get("Dimensions") or []),
        )

    def matches(self, datum: MetricDatumBase) -> bool:
        return (
            datum.namespace == self.namespace
            and datum.name == self.name
            and frozenset((d.name, d.value) for d in datum.dimensions) == self.dimensions
        )


def bucket_starts(start: datetime, end: datetime, period: int) -> list[datetime]:
    """Period starts covering [start, end), aligned on multiples of the period as AWS does."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first = epoch + timedelta(seconds=(int((start - epoch).total_seconds()) // period) * period)
    starts = []
    moment = first
    while moment < end:
        starts.append(moment)
        moment += timedelta(seconds=period)
    return starts


def bucketed(
    data: Iterable[MetricDatumBase],
    metric: MetricId,
    unit: str | None,
    start: datetime,
    end: datetime,
    period: int,
) -> dict[datetime, Sample]:
    """The samples of ``metric`` per period start, only for periods that have data."""
    if period <= 0:
        raise InvalidParameterValue("The parameter Period must be greater than 0.")
    first = bucket_starts(start, end, period)[:1]
    if not first:
        return {}
    origin = first[0]
    samples: dict[datetime, Sample] = {}
    for datum in data:
        when = _utc(datum.timestamp)
        if not (start <= when < end) or not metric.matches(datum):
            continue
        if unit and datum.unit != unit:
            continue
        slot = origin + timedelta(seconds=int((when - origin).total_seconds()) // period * period)
        sample = samples.setdefault(slot, Sample([], [], datum.unit))
        if isinstance(datum, MetricAggregatedDatum):
            sample.aggregates.append(datum)
        elif isinstance(datum, MetricDatum):
            sample.weighted.append((datum.value, getattr(datum, "count", 1.0)))
    return dict(sorted(samples.items()))


# ------------------------------------------------------------------------------ metric math


@dataclass
class Series:
    """A time series of a GetMetricData query, on its period grid."""

    points: dict[datetime, float]
    grid: list[datetime]


Value = float | Series | list[Series]

_TOKEN = re.compile(
    r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\"[^\"]*\")|(.))"
)


class MathEvaluator:
    """A small recursive-descent evaluator of CloudWatch metric math."""

    def __init__(self, expression: str, series: dict[str, Series], metric_ids: list[str]) -> None:
        self.expression = expression
        self.series = series
        self.metric_ids = metric_ids
        self.tokens = self._tokenize(expression)
        self.pos = 0

    def _fail(self, why: str) -> ValidationError:
        return ValidationError(f"Error in expression '{self.expression}': {why}")

    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        tokens = []
        for number, name, string, other in _TOKEN.findall(text.strip()):
            if number:
                tokens.append(("num", number))
            elif name:
                tokens.append(("name", name))
            elif string:
                tokens.append(("str", string[1:-1]))
            elif other.strip():
                tokens.append(("op", other))
        return tokens

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise self._fail("unexpected end")
        self.pos += 1
        return token

    def _expect(self, op: str) -> None:
        if self._next() != ("op", op):
            raise self._fail(f"expected '{op}'")

    def evaluate(self) -> Value:
        value = self._sum()
        extra = self._peek()
        if extra is not None:
            raise self._fail(f"unexpected '{extra[1]}'")
        return value

    def _sum(self) -> Value:
        value = self._product()
        while self._peek() in (("op", "+"), ("op", "-")):
            op = self._next()[1]
            value = self._binary(op, value, self._product())
        return value

    def _product(self) -> Value:
        value = self._unary()
        while self._peek() in (("op", "*"), ("op", "/")):
            op = self._next()[1]
            value = self._binary(op, value, self._unary())
        return value

    def _unary(self) -> Value:
        if self._peek() == ("op", "-"):
            self._next()
            return self._binary("*", -1.0, self._unary())
        return self._atom()

    def _atom(self) -> Value:
        kind, text = self._next()
        if kind == "num":
            return float(text)
        if kind == "op" and text == "(":
            value = self._sum()
            self._expect(")")
            return value
        if kind == "op" and text == "[":
            items = [self._sum()]
            while self._peek() == ("op", ","):
                self._next()
                items.append(self._sum())
            self._expect("]")
            series = [i for i in items if isinstance(i, Series)]
            if len(series) != len(items):
                raise self._fail("an array may hold only time series")
            return series
        if kind == "name" and self._peek() == ("op", "("):
            self._next()
            return self._call(text)
        if kind == "name" and text in self.series:
            return self.series[text]
        raise self._fail(f"unknown id or unsupported token '{text}'")

    def _arguments(self) -> list[Value | str]:
        args: list[Value | str] = []
        if self._peek() == ("op", ")"):
            self._next()
            return args
        while True:
            token = self._peek()
            if token is not None and (token[0] == "str" or token[1] in ("REPEAT", "LINEAR")):
                self._next()
                args.append(token[1])
            else:
                args.append(self._sum())
            separator = self._next()
            if separator == ("op", ")"):
                return args
            if separator != ("op", ","):
                raise self._fail("expected ',' or ')'")

    def _call(self, name: str) -> Value:
        args = self._arguments()
        if name == "METRICS":
            text = args[0] if args else ""
            if not isinstance(text, str):
                raise self._fail("METRICS takes an optional string")
            return [self.series[i] for i in self.metric_ids if text in i]
        if name in ("SUM", "AVG", "MIN", "MAX") and len(args) == 1:
            return self._aggregate(name, args[0])
        if name in ("ABS", "CEIL", "FLOOR") and len(args) == 1:
            rounding: dict[str, Callable[[float], float]] = {
                "ABS": abs,
                "CEIL": math.ceil,
                "FLOOR": math.floor,
            }
            fn = rounding[name]
            return self._map(args[0], lambda v: float(fn(v)))
        if name == "FILL" and len(args) == 2:
            return self._fill(args[0], args[1])
        raise self._fail(f"function {name} with {len(args)} argument(s) is not supported")

    def _aggregate(self, name: str, arg: Value | str) -> Value:
        reducers: dict[str, Callable[[list[float]], float]] = {
            "SUM": sum,
            "AVG": lambda xs: sum(xs) / len(xs),
            "MIN": min,
            "MAX": max,
        }
        reduce = reducers[name]
        if isinstance(arg, Series):
            values = list(arg.points.values())
            return reduce(values) if values else math.nan
        if isinstance(arg, list):
            if not arg:
                raise self._fail(f"{name} of an empty array")
            moments = sorted({t for s in arg for t in s.points})
            points = {t: reduce([s.points[t] for s in arg if t in s.points]) for t in moments}
            return Series(points, arg[0].grid)
        raise self._fail(f"{name} needs a time series or an array")

    def _map(self, arg: Value | str, fn: Callable[[float], float]) -> Value:
        if isinstance(arg, float):
            return fn(arg)
        if isinstance(arg, Series):
            return Series({t: fn(v) for t, v in arg.points.items()}, arg.grid)
        if isinstance(arg, list):
            return [Series({t: fn(v) for t, v in s.points.items()}, s.grid) for s in arg]
        raise self._fail("expected a number or a time series")

    def _fill(self, arg: Value | str, how: Value | str) -> Value:
        if isinstance(arg, list):
            return [self._fill_series(s, how) for s in arg]
        if not isinstance(arg, Series):
            raise self._fail("FILL needs a time series")
        return self._fill_series(arg, how)

    def _fill_series(self, arg: Series, how: Value | str) -> Series:
        points: dict[datetime, float] = {}
        known = sorted(arg.points.items())
        for t in arg.grid:
            if t in arg.points:
                points[t] = arg.points[t]
            elif isinstance(how, float):
                points[t] = how
            elif how == "REPEAT":
                before = [v for k, v in known if k < t]
                after = [v for k, v in known if k > t]
                if before or after:
                    points[t] = before[-1] if before else after[0]
            elif how == "LINEAR":
                earlier = [(k, v) for k, v in known if k < t]
                later = [(k, v) for k, v in known if k > t]
                if earlier and later:
                    (t0, v0), (t1, v1) = earlier[-1], later[0]
                    points[t] = v0 + (v1 - v0) * (t - t0) / (t1 - t0)
            else:
                raise self._fail("FILL takes a number, REPEAT or LINEAR")
        return Series(points, arg.grid)

    def _binary(self, op: str, left: Value, right: Value) -> Value:
        apply: Callable[[float, float], float] = {
            "+": lambda a, b: a + b,
            "-": lambda a, b: a - b,
            "*": lambda a, b: a * b,
            "/": lambda a, b: a / b if b else math.nan,
        }[op]
        if isinstance(left, float) and isinstance(right, float):
            return apply(left, right)
        if isinstance(left, Series) and isinstance(right, Series):
            common = sorted(set(left.points) & set(right.points))
            points = {t: apply(left.points[t], right.points[t]) for t in common}
            return Series(points, left.grid)
        if isinstance(left, float):
            if isinstance(right, list):
                return [_with_scalar(apply, s, left, scalar_first=True) for s in right]
            if isinstance(right, Series):
                return _with_scalar(apply, right, left, scalar_first=True)
        if isinstance(right, float):
            if isinstance(left, list):
                return [_with_scalar(apply, s, right, scalar_first=False) for s in left]
            if isinstance(left, Series):
                return _with_scalar(apply, left, right, scalar_first=False)
        raise self._fail("arithmetic between arrays and series is not supported")


def _with_scalar(
    apply: Callable[[float, float], float], series: Series, scalar: float, *, scalar_first: bool
) -> Series:
    """`series op scalar` (or `scalar op series`) at every point; order matters for - and /."""
    if scalar_first:
        return Series({t: apply(scalar, v) for t, v in series.points.items()}, series.grid)
    return Series({t: apply(v, scalar) for t, v in series.points.items()}, series.grid)


# ------------------------------------------------------------------------------- responses


def _result_row(query: dict[str, Any], label: str, series: Series, descending: bool) -> dict:
    points = sorted(
        ((t, v) for t, v in series.points.items() if math.isfinite(v)), reverse=descending
    )
    return {
        "Id": query["Id"],
        "Label": query.get("Label") or label,
        "Timestamps": [t for t, _ in points],
        "Values": [v for _, v in points],
        "StatusCode": "Complete",
        "Messages": [],
    }


class CloudWatchExtraResponse(CloudWatchResponse):
    """moto's CloudWatch responses with AWS-faithful metric reads (see module docstring)."""

    def _data(self) -> list[MetricDatumBase]:
        return self.cloudwatch_backend.get_all_metrics()

    def put_metric_data(self) -> ActionResult:
        namespace = self._get_param("Namespace")
        plain, counted = [], []
        for index, member in enumerate(self._get_param("MetricData", []), start=1):
            if not member.get("Values"):
                plain.append(member)
                continue
            counts = member.get("Counts") or [1.0] * len(member["Values"])
            if len(counts) != len(member["Values"]):
                raise InvalidParameterValue(
                    f"The parameters MetricData.member.{index}.Values and "
                    f"MetricData.member.{index}.Counts must be of the same size."
                )
            counted.append((member, counts))
        self.cloudwatch_backend.put_metric_data(namespace, plain)
        for member, counts in counted:
            for value, count in zip(member["Values"], counts, strict=True):
                self.cloudwatch_backend.metric_data.append(
                    WeightedDatum(
                        namespace,
                        member["MetricName"],
                        float(value),
                        member.get("Dimensions") or [],
                        member.get("Timestamp"),
                        member.get("Unit"),
                        count=float(count),
                    )
                )
        return EmptyResult()

    def get_metric_data(self) -> ActionResult:
        params = self._get_params()
        start, end = _utc(params["StartTime"]), _utc(params["EndTime"])
        if start >= end:
            raise ValidationError("The parameter EndTime must be greater than StartTime.")
        descending = (params.get("ScanBy") or "TimestampDescending") == "TimestampDescending"
        queries = params.get("MetricDataQueries", [])
        data = self._data()
        series: dict[str, Series] = {}
        labels: dict[str, str] = {}
        metric_ids: list[str] = []
        for index, query in enumerate(queries, start=1):
            if "MetricStat" in query:
                stat_spec = query["MetricStat"]
                period = int(stat_spec["Period"])
                compute = statistic(stat_spec["Stat"])
                metric = MetricId.from_api(stat_spec["Metric"])
                samples = bucketed(data, metric, stat_spec.get("Unit"), start, end, period)
                points = {t: v for t, s in samples.items() if (v := compute(s)) is not None}
                series[query["Id"]] = Series(points, bucket_starts(start, end, period))
                labels[query["Id"]] = metric.name
                metric_ids.append(query["Id"])
            elif "Expression" not in query:
                raise ValidationError(
                    f"The parameter MetricDataQueries.member.{index}.MetricStat is required."
                )
        pending = [q for q in queries if "Expression" in q]
        while pending:
            ready = [q for q in pending if self._references_known(q, series, pending)]
            if not ready:
                ids = ", ".join(q["Id"] for q in pending)
                raise ValidationError(f"Circular or unknown references in expressions: {ids}")
            for query in ready:
                series[query["Id"]] = self._evaluate(query, series, metric_ids, start, end)
                labels[query["Id"]] = query["Id"]
                pending.remove(query)
        results = [
            _result_row(q, labels[q["Id"]], series[q["Id"]], descending)
            for q in queries
            if q.get("ReturnData", True)
        ]
        return ActionResult({"MetricDataResults": results, "Messages": []})

    @staticmethod
    def _references_known(
        query: dict[str, Any], series: dict[str, Series], pending: list[dict[str, Any]]
    ) -> bool:
        waiting = {q["Id"] for q in pending if q is not query}
        names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query["Expression"]))
        return not (names & waiting) and not ("METRICS" in names and waiting)

    @staticmethod
    def _evaluate(
        query: dict[str, Any],
        series: dict[str, Series],
        metric_ids: list[str],
        start: datetime,
        end: datetime,
    ) -> Series:
        expression = query["Expression"]
        if expression.lstrip().upper().startswith("SELECT"):
            raise ValidationError(
                f"Metrics Insights queries are not supported by the ekslift sandbox: {query['Id']}"
            )
        value = MathEvaluator(expression, series, metric_ids).evaluate()
        if isinstance(value, list):
            raise ValidationError(
                f"The expression of {query['Id']} returns several time series; "
                "the ekslift sandbox supports expressions returning one."
            )
        if isinstance(value, float):
            grid = next(iter(series.values())).grid if series else []
            if not grid:
                period = int(query.get("Period") or 60)
                grid = bucket_starts(start, end, period)
            return Series({t: value for t in grid}, grid)
        return value

    def get_metric_statistics(self) -> ActionResult:
        params = self._get_params()
        statistics = params.get("Statistics") or []
        extended = params.get("ExtendedStatistics") or []
        if bool(statistics) == bool(extended):
            raise InvalidParameterCombination(
                "Must specify either Statistics or ExtendedStatistics, but not both."
            )
        start, end = _utc(params["StartTime"]), _utc(params["EndTime"])
        if start >= end:
            raise InvalidParameterValue(
                "The parameter StartTime must be less than the parameter EndTime."
            )
        if not all(s in BASIC_STATISTICS for s in statistics):
            raise InvalidParameterValue(f"Statistics must be among {', '.join(BASIC_STATISTICS)}.")
        if any(s in BASIC_STATISTICS for s in extended):
            raise InvalidParameterValue("ExtendedStatistics takes pNN, tmNN, TM(a%:b%) or IQM.")
        computations = {s: statistic(s) for s in (*statistics, *extended)}
        metric = MetricId.from_api(params)
        unit = params.get("Unit")
        datapoints = []
        for moment, sample in bucketed(
            self._data(), metric, unit, start, end, int(params["Period"])
        ).items():
            point: dict[str, Any] = {"Timestamp": moment}
            for name in statistics:
                point[name] = computations[name](sample)
            if extended:
                point["ExtendedStatistics"] = {
                    name: value
                    for name in extended
                    if (value := computations[name](sample)) is not None
                }
            point["Unit"] = sample.unit or "None"
            datapoints.append(point)
        return ActionResult({"Label": metric.name, "Datapoints": datapoints})

    def put_composite_alarm(self) -> ActionResult:
        """PutCompositeAlarm (moto 5.2 routes none): stored as moto stores an alarm with an
        ``AlarmRule``, which its DescribeAlarms already answers under ``CompositeAlarms``
        and its SetAlarmState can put in ALARM. Never evaluated, like moto's other alarms."""
        params = self._get_params()
        rule = params.get("AlarmRule", "")
        if not rule or len(rule) > 10240:
            raise ValidationError("AlarmRule must be between 1 and 10240 characters.")
        self.cloudwatch_backend.put_metric_alarm(
            name=params["AlarmName"],
            namespace=None,  # type: ignore[arg-type]
            metric_name=None,  # type: ignore[arg-type]
            comparison_operator=None,  # type: ignore[arg-type]
            evaluation_periods=None,  # type: ignore[arg-type]
            period=None,  # type: ignore[arg-type]
            threshold=None,  # type: ignore[arg-type]
            statistic=None,  # type: ignore[arg-type]
            description=params.get("AlarmDescription"),  # type: ignore[arg-type]
            dimensions=[],
            alarm_actions=params.get("AlarmActions", []),
            ok_actions=params.get("OKActions", []),
            insufficient_data_actions=params.get("InsufficientDataActions", []),
            actions_enabled=params.get("ActionsEnabled", True),
            rule=rule,
            tags=params.get("Tags", []),
        )
        return EmptyResult()


def install() -> None:
    """Route CloudWatch to :class:`CloudWatchExtraResponse`; idempotent.

    As with EKS, moto reads ``url_paths`` when the server first builds its CloudWatch app,
    so this must run before the first CloudWatch request.
    """
    paths = moto.cloudwatch.urls.url_paths
    for path in paths:
        paths[path] = CloudWatchExtraResponse.dispatch
