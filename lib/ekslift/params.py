"""The typed parameter file that describes one upgrade.

One YAML file is the whole contract between an operator and a run: notebooks receive only
its path, so everything a step needs must be expressible (and validated) here. Validation
happens once, up front, so a typo in a region or an ARN fails in a second with the key path
named instead of halfway through a traffic shift.

`${VAR}` (or `${VAR:-default}`) references are expanded from the environment at load time
(the archived copy keeps the references, not the values), which lets `params/demo.yaml`
point at sandbox ports and ARNs that are only known once the sandbox is up.
"""

from __future__ import annotations

import fnmatch
import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from ekslift.errors import InputError
from ekslift.metrics.settings import MetricsSettings
from ekslift.versions import VersionError, minor_text, parse_minor

SCHEMA_VERSION: Final = 1
Strategy = Literal["blue-green", "in-place"]
ClusterRole = Literal["blue", "green", "in-place"]
"""A cluster's part in its region's upgrade: blue/green for a blue-green region; the one
cluster of an in-place region is `in-place` (current and upgraded at once), so rules that
judge "the cluster that will run the target" cannot mistake it for a retiring blue."""
Color = Literal["blue", "green"]
"""One side of a blue-green region: a cluster and its target group behind the ALB."""
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ARN = {
    "listener": re.compile(
        r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:listener/app/[\w-]+/[0-9a-f]+/[0-9a-f]+$"
    ),
    "listener-rule": re.compile(
        r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:"
        r"listener-rule/app/[\w-]+/[0-9a-f]+/[0-9a-f]+/[0-9a-f]+$"
    ),
    "targetgroup": re.compile(
        r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/[\w-]+/[0-9a-f]+$"
    ),
    "loadbalancer": re.compile(
        r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/app/[\w-]+/[0-9a-f]+$"
    ),
}


class ParamsError(InputError):
    """A parameter file that cannot be used; `problems` lists every `key path: message`."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{self.path}: invalid parameters:\n{lines}")


def _minor_version(value: str) -> str:
    """Kubernetes/EKS minor versions are written `1.34`; accept `v1.34` and normalise."""
    try:
        return minor_text(parse_minor(value, strict=True))
    except VersionError as exc:
        raise ValueError(str(exc)) from exc


def _arn_of(kind: str):
    def check(value: str) -> str:
        if not _ARN[kind].match(value):
            raise ValueError(
                f"expected an ELBv2 {kind} ARN "
                f"(arn:aws:elasticloadbalancing:<region>:<account>:{kind}/app/...), got {value!r}"
            )
        return value

    return check


MinorVersion = Annotated[str, AfterValidator(_minor_version)]
ListenerArn = Annotated[str, AfterValidator(_arn_of("listener"))]
RuleArn = Annotated[str, AfterValidator(_arn_of("listener-rule"))]
TargetGroupArn = Annotated[str, AfterValidator(_arn_of("targetgroup"))]
LoadBalancerArn = Annotated[str, AfterValidator(_arn_of("loadbalancer"))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClusterRef(_Strict):
    """One EKS cluster as AWS and kubectl each name it (they often differ in real estates)."""

    eks_cluster: str = Field(min_length=1, max_length=100)
    kube_context: str = Field(min_length=1)


WEIGHTS_TAG = "ekslift.io/weights"
"""The ownership contract on a listener or rule: `external` says the infrastructure code that
owns it ignores its forward action (`ignore_changes`), `ekslift` that only ekslift writes it."""


class AlbTraffic(_Strict):
    """The weighted forward step 4 moves, and where else blue's target group is named.

    Every forward action naming blue's target group on the listener's load balancer (and on
    `other_load_balancer_arns`, e.g. an internal ALB) moves with the configured one as one
    set: a host rule left on blue would keep a share of users on the old version, and a
    rollback that missed it would leave them on green.
    """

    listener_arn: ListenerArn
    rule_arn: RuleArn | None = None
    blue_target_group_arn: TargetGroupArn
    green_target_group_arn: TargetGroupArn
    # Who writes the weighted forward action: `infrastructure` (Terraform/CDK owns the
    # listener and must ignore the weights) or `ekslift` (a rule only ekslift writes).
    owner: Literal["infrastructure", "ekslift"] = "infrastructure"
    # Other listeners or rules forwarding to blue's target group that move with this one;
    # readiness finds them all anyway and reports the ones not declared here.
    extra_forward_actions: list[ListenerArn | RuleArn] = Field(default_factory=list)
    other_load_balancer_arns: list[LoadBalancerArn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct_groups(self) -> AlbTraffic:
        if self.blue_target_group_arn == self.green_target_group_arn:
            raise ValueError(
                "blue and green need their own target groups (weights move between them)"
            )
        return self

    @property
    def load_balancer_arn(self) -> str:
        """The listener's load balancer: the listener ARN names it (`listener/app/n/lb/l`)."""
        head, _, path = self.listener_arn.partition(":listener/")
        return f"{head}:loadbalancer/{path.rsplit('/', 1)[0]}"


class Route53Traffic(_Strict):
    hosted_zone_id: str = Field(pattern=r"^(/hostedzone/)?Z[A-Z0-9]{1,32}$")
    record_name: str
    blue_set_identifier: str
    green_set_identifier: str


# ---- step 4 (traffic shift): per-region stages; run-wide settings are `ShiftParams` below.


class SmokeSettings(_Strict):
    """The smoke stage at weight 0: a temporary rule sends requests carrying the header to
    green, and the team's synthetic checks must pass through it before any user goes there."""

    header_name: str = Field(pattern=r"^[A-Za-z0-9-]{1,40}$")
    header_value: str = Field(min_length=1, max_length=128)
    command: list[str] = Field(
        min_length=1, description="argv of the checks; gets EKSLIFT_SMOKE_* in its environment"
    )
    timeout_seconds: int = Field(default=600, ge=1)
    rule_priority: int = Field(default=49999, ge=1, le=50000)


class HoldSettings(_Strict):
    """The pause before 100 %: `approved` goes on at once (the approval covered it);
    `watched` holds at the last share, limits watched, until `ekslift shift release` or
    `max_seconds`; unreleased at the end means doubt, and doubt means blue."""

    mode: Literal["approved", "watched"] = "watched"
    max_seconds: int = Field(default=3600, ge=0)


class TrafficSettings(_Strict):
    alb: AlbTraffic | None = None
    route53: Route53Traffic | None = None
    steps: list[int] = Field(default_factory=lambda: [0, 5, 25, 50, 100])
    soak_seconds: int = Field(
        default=300,
        ge=0,
        description="the soak of each step with soak_mode fixed; the least soak when planned",
    )
    soak_mode: Literal["planned", "fixed"] = "planned"
    smoke: SmokeSettings | None = None
    hold: HoldSettings = HoldSettings()
    bake_seconds: int = Field(default=86400, ge=0, description="at 100 %, blue warm")
    share_tolerance: float = Field(
        default=0.25, gt=0, lt=1, description="measured share within this fraction of planned"
    )
    alarm_names: list[str] = Field(
        default_factory=list, description="CloudWatch alarms watched every poll of a soak"
    )

    @field_validator("steps")
    @classmethod
    def _ascending_percentages(cls, steps: list[int]) -> list[int]:
        if not steps or any(not 0 <= s <= 100 for s in steps):
            raise ValueError("steps are green weights in percent, each from 0 to 100")
        if steps != sorted(set(steps)):
            raise ValueError(f"steps must strictly increase, got {steps}")
        return steps

    @model_validator(mode="after")
    def _one_mechanism(self) -> TrafficSettings:
        if self.alb is None and self.route53 is None:
            raise ValueError("give 'alb' (weighted listener) or 'route53' (weighted records)")
        return self


class ExternalApproval(_Strict):
    """An approval given outside ekslift (a reviewed pull request, a GitHub deployment
    environment's required reviewers): named in the parameters, so it is part of what the
    approver approves and is carried into the approval record and the run's manifest."""

    kind: Literal["github-pr", "deployment-environment"]
    reference: str = Field(min_length=1, description="the PR's URL, or the deployment's id")


class ApprovalSettings(_Strict):
    """Where the approval record is (written by `ekslift shift approve`, run by the approver
    with their own credentials) and how long it stays valid."""

    file: str | None = Field(
        default=None, description="default: <archive_dir>/approvals/<name>.json"
    )
    max_age_hours: float = Field(default=24.0, gt=0, description="the record's expires_at")
    external: ExternalApproval | None = None


class NotificationSettings(_Strict):
    sns_topic_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:sns:")
    webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    timeout_seconds: float = Field(default=5.0, gt=0)


class ReplaySettings(_Strict):
    """Sandbox only: judge every step on the recorded ``minutes`` ending at ``until`` (the
    sandbox's seeded history) instead of the minutes the step soaked. A demo cannot soak
    for the minutes a real step needs; never set this for a real estate."""

    until: datetime
    minutes: int = Field(default=60, ge=1, le=24 * 60)

    @field_validator("until")
    @classmethod
    def _utc(cls, until: datetime) -> datetime:
        if until.utcoffset() != timedelta(0):
            raise ValueError("until must be a UTC time (…Z or +00:00)")
        return until


_LAMBDA_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:function:[\w-]+$")


class GuardSettings(_Strict):
    """What returns a region to 100 % blue when nobody watches it any more (README: the guard).

    The shift holds a lease in `table` (DynamoDB, one table of this name in each shifted
    region) and renews it at every poll; the guard (`ekslift shift guard`, a CronJob every
    `period_seconds`) rolls back a region whose lease expired, whose heartbeat went stale or
    whose alarms fire, and the alarms' composite invokes the region's rollback function even
    if the guard is down too. `max_unwatched_minutes` bounds the longest a region can stay
    shifted with nobody watching (`unwatched_seconds`), so a slow guard is a parameter error,
    not a surprise in an incident.
    """

    table: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$", description="DynamoDB lease table")
    lease_seconds: int = Field(default=300, ge=2, description="the lease's time to live")
    renew_margin_seconds: float = Field(
        default=30.0, gt=0, description="a shifter this close to its lease's end stops writing"
    )
    period_seconds: int = Field(default=300, ge=60, description="the guard CronJob's period")
    starting_deadline_seconds: int = Field(
        default=60, ge=10, description="the CronJob's startingDeadlineSeconds"
    )
    alarm_period_seconds: int = Field(default=60, ge=10)
    alarm_evaluation_periods: int = Field(default=3, ge=1)
    error_count_floor: int = Field(
        default=10, ge=1, description="green 5xx in one alarm period before the alarm may fire"
    )
    rollback_function_arns: dict[str, str] = Field(
        default_factory=dict, description="region → the rollback Lambda the composite invokes"
    )
    namespace: str = Field(default="ekslift", min_length=1, description="heartbeat metrics")
    max_unwatched_minutes: float = Field(default=30.0, gt=0)

    @field_validator("alarm_period_seconds")
    @classmethod
    def _cloudwatch_period(cls, period: int) -> int:
        if period not in (10, 30) and period % 60:
            raise ValueError(f"alarm periods are 10, 30 or a multiple of 60 s, got {period}")
        return period

    @field_validator("rollback_function_arns")
    @classmethod
    def _lambda_in_its_region(cls, arns: dict[str, str]) -> dict[str, str]:
        for region, arn in arns.items():
            match = _LAMBDA_ARN.match(arn)
            if match is None or match.group(1) != region:
                raise ValueError(
                    f"{region}: expected a Lambda function ARN in {region} (an alarm invokes a "
                    f"function of its own region), got {arn!r}"
                )
        return arns

    @property
    def stale_seconds(self) -> int:
        """A guard heartbeat older than this is stale: one missed run is tolerated."""
        return 2 * self.period_seconds + self.starting_deadline_seconds

    def unwatched_seconds(self) -> int:
        """The longest a region can stay shifted with nobody watching: the lease runs out,
        the guard's next run may start a period plus its starting deadline later, and the
        alarms take their evaluation to fire (counted too, in case the guard is down)."""
        return (
            self.lease_seconds
            + self.period_seconds
            + self.starting_deadline_seconds
            + self.alarm_period_seconds * self.alarm_evaluation_periods
        )


class ShiftParams(_Strict):
    """Run-wide settings of step 4 (the traffic shift). Its metrics and judge are the run's
    (``metrics.backend``, ``metrics.judge``), the ones step 5 re-judges it with."""

    replay: ReplaySettings | None = None
    readiness: Literal["full", "forward-set-only"] = Field(
        default="full",
        description="forward-set-only skips re-checking cutover readiness in the clusters "
        "before each change (an estate step 4 cannot reach); step 4's gate warns",
    )
    baseline_request_rate: float | None = Field(default=None, gt=0, description="requests/s")
    baseline_error_rate: float | None = Field(default=None, gt=0, lt=1)
    poll_seconds: float = Field(default=60.0, gt=0, description="limit checks while soaking")
    canary_region: str | None = None
    route53_health_check_ids: list[str] = Field(default_factory=list)
    max_pause_seconds: int = Field(default=900, ge=0, description="a flipped health check")
    max_clock_skew_seconds: float = Field(default=5.0, gt=0)
    approval: ApprovalSettings = ApprovalSettings()
    notifications: NotificationSettings = NotificationSettings()
    notebook_wait_seconds: int = Field(
        default=0, ge=0, description="how long notebook 04 waits for the shift process"
    )
    guard: GuardSettings | None = Field(
        default=None, description="lease, heartbeat, alarms and guard; required to write"
    )


class RegionParams(_Strict):
    """One region: two clusters side by side (blue-green), or one upgraded in place.

    In place, `blue` names the one cluster (it is what runs today) and `green` is absent;
    it is upgraded one minor at a time and has no traffic to shift.
    """

    name: str
    strategy: Strategy = "blue-green"
    blue: ClusterRef
    green: ClusterRef | None = Field(default=None, validate_default=True)
    traffic: TrafficSettings | None = None

    @field_validator("name")
    @classmethod
    def _aws_region(cls, name: str) -> str:
        if not _REGION.match(name):
            raise ValueError(f"expected an AWS region such as 'us-east-1', got {name!r}")
        return name

    @field_validator("green", mode="after")
    @classmethod
    def _green_fits_the_strategy(cls, green: ClusterRef | None, info: ValidationInfo) -> Any:
        strategy = info.data.get("strategy", "blue-green")
        if strategy == "blue-green" and green is None:
            raise ValueError(
                "required for strategy blue-green (or set strategy: in-place to upgrade "
                "the 'blue' cluster where it stands)"
            )
        if strategy == "in-place" and green is not None:
            raise ValueError(
                "strategy in-place upgrades the one cluster named by 'blue': remove 'green' "
                "(or use strategy blue-green)"
            )
        return green

    @field_validator("traffic", mode="after")
    @classmethod
    def _traffic_fits_the_strategy(cls, traffic: Any, info: ValidationInfo) -> Any:
        if info.data.get("strategy") == "in-place" and traffic is not None:
            raise ValueError("strategy in-place shifts no traffic: remove 'traffic'")
        return traffic

    def clusters(self) -> dict[ClusterRole, ClusterRef]:
        if self.green is None:
            return {"in-place": self.blue}
        return {"blue": self.blue, "green": self.green}


class ArgoCDParams(_Strict):
    kube_context: str
    namespace: str = "argocd"


class AwsParams(_Strict):
    profile: str | None = None
    retry_mode: Literal["standard", "adaptive"] = "adaptive"
    max_attempts: int = Field(default=8, ge=1, le=20)


class ChartRepository(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    url: str = Field(pattern=r"^(https?|oci)://")
    # An OCI registry served over plain HTTP (a local or in-VPC registry without TLS).
    plain_http: bool = False


class GitOpsParams(_Strict):
    """The GitOps repository Argo CD deploys from, checked out locally: multi-source apps'
    `$values/...` value files are read from it (the cluster only holds their names)."""

    checkout: str = Field(min_length=1, description="path, relative to the parameter file")


class ChartDiffParams(_Strict):
    """Step 3, chart diff: where candidate versions come from and what a proposal must meet."""

    # Repositories searched besides `chart_repositories` and the apps' own repoURLs (e.g. an
    # OCI registry, or a second HTTP repository holding charts of the same names).
    repositories: list[ChartRepository] = Field(default_factory=list)
    # Chart name (or `namespace/release`) -> repository URL, for helm-installed releases,
    # whose records do not say which repository they came from.
    sources: dict[str, str] = Field(default_factory=dict)
    min_release_age_days: int = Field(default=7, ge=0)
    prereleases: bool = False
    # The estate's renovate.json, relative to this file: its ignoreDeps and allowedVersions
    # are respected.
    renovate_config: str | None = None
    # Where repository indexes and chart archives are cached between runs (default:
    # $XDG_CACHE_HOME/ekslift/charts or ~/.cache/ekslift/charts).
    cache_dir: str | None = None


class ScanParams(_Strict):
    manifest_paths: list[str] = Field(default_factory=list)
    extra_facts: list[str] = Field(default_factory=list)


def _share(value: int) -> int:
    if not 0 <= value <= 100:
        raise ValueError(f"a share of traffic is a percentage from 0 to 100, got {value}")
    return value


Share = Annotated[int, AfterValidator(_share)]
WorkloadRef = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]*/[a-z0-9][a-z0-9.-]*$")]
SecurityGroupId = Annotated[str, Field(pattern=r"^sg-[0-9a-f]{8,17}$")]


class CronJobPlan(_Strict):
    """CronJobs run in one colour at a time: suspended on green below `green_from`, and
    suspended on blue from it on (a job running twice double-bills or double-mails)."""

    green_from: Share = 100


class ConsumerPlan(_Strict):
    """Queue consumers (KEDA ScaledObjects/ScaledJobs or labelled workloads) do not follow
    ALB weights: paused on green (0 replicas) below `green_from`, paused on blue from
    `blue_paused_from` on."""

    green_from: Share = 50
    blue_paused_from: Share = 100


class ExternalDnsPlan(_Strict):
    """external-dns in both colours fights over records unless each owns its own TXT owner
    id and neither deletes what it does not own."""

    distinct_owner_ids: Literal[True] = True
    policy: Literal["upsert-only"] = "upsert-only"


class SideEffectPlan(_Strict):
    """Controllers acting outside the cluster run on green only from `green_from` on, and on
    blue only below it."""

    green_from: Share = 100


class StatefulPlan(_Strict):
    """Volume-backed StatefulSets keep their data per cluster: how it follows the cutover
    cannot be read from the clusters, so the plan says it in words someone signs."""

    note: str = Field(min_length=10)


class CutoverPlans(_Strict):
    cronjobs: CronJobPlan | None = None
    consumers: ConsumerPlan | None = None
    external_dns: ExternalDnsPlan | None = None
    side_effect_controllers: SideEffectPlan | None = None
    stateful: StatefulPlan | None = None


class ReadinessParams(_Strict):
    """Cutover readiness (step 1 reports it, step 4 re-checks it before every weight change)."""

    min_healthy_per_az: int = Field(default=2, ge=1)
    peak_lookback_days: int = Field(default=7, ge=1, le=14)
    rollback_window_minutes: int = Field(default=60, ge=0)
    # A client pinned longer than this is not moved back by a rollback (default: the soak).
    max_stickiness_seconds: int | None = Field(default=None, ge=0)
    trust_policy_size_limit: int = Field(default=2048, ge=512, le=10240)
    # Deployments on the request path besides those the TargetGroupBinding's Service selects.
    request_path: list[WorkloadRef] = Field(default_factory=list)
    database_security_groups: list[SecurityGroupId] = Field(default_factory=list)
    side_effect_controllers: list[WorkloadRef] = Field(default_factory=list)
    # Access entries green need not have (fnmatch patterns of principal ARNs).
    access_entries_ignore: list[str] = Field(default_factory=list)
    cutover_plans: CutoverPlans = CutoverPlans()


class ArchiveParams(_Strict):
    """How a run is archived when `archive_dir` is an S3 URL (ignored for a local folder).

    The archive is the audit trail, so by default it is encrypted and write-once: every
    object is put with S3 Object Lock retention (governance mode: only an identity with
    s3:BypassGovernanceRetention can shorten it; compliance mode: nobody can, not even the
    account root) when the bucket has Object Lock; the manifest records which, or that the
    bucket has none.
    """

    encryption: Literal["SSE-S3", "SSE-KMS"] = "SSE-S3"
    kms_key_id: str | None = Field(default=None, min_length=1)
    object_lock: Literal["governance", "compliance"] = "governance"
    retention_days: int = Field(default=400, ge=1, le=36500)
    region: str | None = Field(default=None, description="the bucket's region")
    staging_dir: str = Field(
        default="runs/.staging", description="local working copy, mirrored to S3 after each step"
    )

    @model_validator(mode="after")
    def _key_for_kms(self) -> ArchiveParams:
        if self.encryption == "SSE-KMS" and not self.kms_key_id:
            raise ValueError("encryption SSE-KMS needs kms_key_id (a key id, ARN or alias)")
        if self.encryption == "SSE-S3" and self.kms_key_id:
            raise ValueError("kms_key_id is used with encryption SSE-KMS only")
        return self


def _archive_location(value: str) -> str:
    """A local folder, or `s3://bucket[/prefix]` with a valid bucket name."""
    if value.startswith("s3://") and not re.match(
        r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/|$)", value
    ):
        raise ValueError(
            f"expected s3://<bucket>[/<prefix>] with a valid bucket name, got {value!r}"
        )
    if "://" in value and not value.startswith("s3://"):
        raise ValueError(f"archive_dir is a local folder or an s3:// URL, got {value!r}")
    return value


class Waiver(_Strict):
    """An accepted finding: a blocker that a named person decided to live with, and why."""

    id: str = Field(min_length=3, description="finding id, or an fnmatch pattern of ids")
    reason: str = Field(min_length=10)
    accepted_by: str = Field(min_length=2)
    expires: date | None = None
    shares: list[Annotated[int, Field(ge=1, le=100)]] | None = Field(
        default=None,
        min_length=1,
        description="only for cutover readiness checked at these shares of green: a "
        "capacity shortfall accepted at 100 % because its fix lands before that step is "
        "no licence for the same shortfall at 25 %",
    )

    def matches(self, finding_id: str, today: date, *, share: int | None) -> bool:
        """`share` is the share of green the finding was checked at (None: not a share
        check); a waiver scoped to shares never covers a finding outside them."""
        if self.expires is not None and today > self.expires:
            return False
        if self.shares is not None and share not in self.shares:
            return False
        return fnmatch.fnmatchcase(finding_id, self.id)


PROD_ENVIRONMENTS: Final = frozenset({"prod", "production"})


class PromotionParams(_Strict):
    """Dev before prod: the environment(s) a change must have passed in first, and the
    archive their runs are in. Set it on a prod run (an environment named prod or
    production must have it to apply); its apply then needs a passing lower run there."""

    requires: list[str] = Field(
        min_length=1, description="lower environment names; a passing run in any one suffices"
    )
    archive: Annotated[str, AfterValidator(_archive_location)] | None = Field(
        default=None, description="where the lower runs are archived (default: archive_dir)"
    )


class UpgradeParams(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    environment: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    # The ticket or pull request this change is done under; an approval is bound to it.
    change_id: str | None = Field(default=None, min_length=1, max_length=200)
    promotion: PromotionParams | None = None
    archive_dir: Annotated[str, AfterValidator(_archive_location)] = "runs"
    archive: ArchiveParams = ArchiveParams()
    apply: bool = False
    target_version: MinorVersion
    aws: AwsParams = AwsParams()
    regions: list[RegionParams] = Field(min_length=1)
    argocd: ArgoCDParams | None = None
    metrics: MetricsSettings = MetricsSettings()
    chart_repositories: list[ChartRepository] = Field(default_factory=list)
    scan: ScanParams = ScanParams()
    gitops: GitOpsParams | None = None
    charts: ChartDiffParams = ChartDiffParams()
    readiness: ReadinessParams = ReadinessParams()
    shift: ShiftParams = ShiftParams()
    waivers: list[Waiver] = Field(default_factory=list)
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    def local_archive_dir(self) -> Path:
        """Where files of a run are written on this machine: the archive itself, or for
        an S3 archive the staging folder that is mirrored to it."""
        if self.archive_dir.startswith("s3://"):
            return Path(self.archive.staging_dir)
        return Path(self.archive_dir)

    def resolve_path(self, path: str) -> Path:
        """A path from the file (manifests, extra facts), relative to where the file lives.

        Relative to the file, not to the working directory: the same parameters then work
        from a shell at the repository root, from JupyterLab in notebooks/, and from a run
        archive (which records where the original file was).
        """
        return (self._base_dir / path).resolve()

    @property
    def is_prod(self) -> bool:
        """Prod by name, or by asking for promotion from a lower environment."""
        return self.environment in PROD_ENVIRONMENTS or self.promotion is not None

    @model_validator(mode="after")
    def _no_replay_in_prod(self) -> UpgradeParams:
        """A replayed history judges every step on minutes green never served: a demo's
        shortcut that would pass a prod cutover on stale evidence."""
        if self.shift.replay is not None and self.is_prod:
            raise ValueError(
                "shift.replay judges steps on recorded history (sandbox only): remove it, "
                f"environment {self.environment!r} is judged on live metrics"
            )
        return self

    @model_validator(mode="after")
    def _change_to_apply(self) -> UpgradeParams:
        """A run that may write is a change someone can look up: its approval names it."""
        if self.apply and not self.change_id:
            raise ValueError("apply: true needs change_id (the ticket or pull request)")
        if self.promotion and self.environment in self.promotion.requires:
            raise ValueError(
                f"promotion.requires names this run's own environment {self.environment!r}"
            )
        return self

    @model_validator(mode="after")
    def _unique_regions(self) -> UpgradeParams:
        names = [r.name for r in self.regions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"each region may appear once; repeated: {', '.join(duplicates)}")
        return self

    @model_validator(mode="after")
    def _shift_fits(self) -> UpgradeParams:
        """Every compared step needs the judge's policy for its share, and the canary must be
        one of the regions, or the shift would fail hours in instead of now."""
        planned = {round(step.share * 100) for step in self.metrics.judge.steps}
        for region in self.regions:
            compared = {s for s in (region.traffic.steps if region.traffic else []) if 0 < s < 100}
            if compared - planned:
                raise ValueError(
                    f"region {region.name}: steps {sorted(compared - planned)} have no judge "
                    f"policy (metrics.judge.steps has shares {sorted(planned)} %)"
                )
        canary = self.shift.canary_region
        if canary is not None and canary not in {r.name for r in self.regions}:
            raise ValueError(f"shift.canary_region {canary!r} is not one of the regions")
        return self

    @model_validator(mode="after")
    def _guard_fits(self) -> UpgradeParams:
        """The lease must outlive a poll (it is renewed once per poll), every shifted region
        needs its rollback function, and the worst case must stay within its bound."""
        guard = self.shift.guard
        if guard is None:
            return self
        problems = []
        if guard.lease_seconds <= self.shift.poll_seconds + guard.renew_margin_seconds:
            problems.append(
                f"shift.guard.lease_seconds ({guard.lease_seconds}) must exceed "
                f"shift.poll_seconds + renew_margin_seconds "
                f"({self.shift.poll_seconds + guard.renew_margin_seconds:g}): the lease is "
                "renewed once per poll"
            )
        for region in self.regions:
            smoke = region.traffic.smoke if region.traffic else None
            if smoke and smoke.timeout_seconds >= guard.lease_seconds - guard.renew_margin_seconds:
                problems.append(
                    f"region {region.name}: traffic.smoke.timeout_seconds "
                    f"({smoke.timeout_seconds}) must be shorter than the lease less its margin: "
                    "the lease is not renewed while the checks run"
                )
        shifted = [r.name for r in self.regions if r.traffic and r.traffic.alb]
        missing = [name for name in shifted if name not in guard.rollback_function_arns]
        if missing:
            problems.append(
                f"shift.guard.rollback_function_arns has no function for {', '.join(missing)}"
            )
        unwatched = guard.unwatched_seconds()
        if unwatched > guard.max_unwatched_minutes * 60:
            problems.append(
                f"a region could stay shifted {unwatched / 60:.1f} min with nobody watching "
                "(lease + guard period + starting deadline + alarm evaluation), more than "
                f"shift.guard.max_unwatched_minutes ({guard.max_unwatched_minutes:g}); "
                "shorten the lease, the guard's period or the alarms' evaluation"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def region(self, name: str) -> RegionParams:
        for region in self.regions:
            if region.name == name:
                return region
        known = ", ".join(r.name for r in self.regions)
        raise KeyError(f"region {name!r} is not in the parameters (known: {known})")


def _expand(node: Any, path: str, missing: list[tuple[str, str]]) -> Any:
    """Substitute `${VAR}`s; each unset one is noted as (key path, problem) in `missing`."""
    if isinstance(node, dict):
        return {k: _expand(v, f"{path}.{k}" if path else str(k), missing) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand(v, f"{path}[{i}]", missing) for i, v in enumerate(node)]
    if isinstance(node, str):

        def substitute(match: re.Match[str]) -> str:
            value = os.environ.get(match.group(1)) or match.group(2)
            if value is None:
                missing.append(
                    (
                        path,
                        f"{path}: environment variable {match.group(1)} is not set "
                        '(for the sandbox: eval "$(ekslift sandbox env)")',
                    )
                )
                return match.group(0)
            return value

        return _ENV_REF.sub(substitute, node)
    return node


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif not (isinstance(part, str) and part.startswith(("function-", "union["))):
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling against params/example.yaml)"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{message} (got {error['input']!r})" if kind.endswith("_type") else message


def parse_params(data: Any, source: Path | str) -> UpgradeParams:
    """Validate already-loaded YAML; the source is only used to name the file in errors."""
    if not isinstance(data, dict):
        raise ParamsError(
            source, [f"(top level): expected a mapping of keys, got {type(data).__name__}"]
        )
    missing: list[tuple[str, str]] = []
    expanded = _expand(data, "", missing)
    unset_at = {path for path, _ in missing}
    try:
        params = UpgradeParams.model_validate(expanded)
    except ValidationError as exc:
        # Every problem at once: unset variables and schema errors together, except the
        # schema's complaint about a `${VAR}` left unexpanded (the variable is the problem).
        schema = [f"{_location(e['loc'])}: {_describe(e)}" for e in exc.errors()]
        raise ParamsError(
            source,
            [problem for _, problem in missing]
            + [p for p in schema if p.split(": ", 1)[0] not in unset_at],
        ) from exc
    if missing:
        raise ParamsError(source, [problem for _, problem in missing])
    return params


def load_params(path: Path | str, base_dir: Path | None = None) -> UpgradeParams:
    """Read and validate a parameter file, raising `ParamsError` that names file and key.

    `base_dir` is where relative paths in the file start (default: the file's folder); a
    run archive passes the folder of the original file its copy was made from.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParamsError(path, [f"cannot read the file: {exc.strerror}"]) from exc
    try:
        data = yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(unknown place)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ParamsError(path, [f"{where}: not valid YAML: {problem}"]) from exc
    params = parse_params(data, path)
    params._base_dir = (base_dir or path.parent).resolve()
    return params
