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
from datetime import date
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
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from ekslift.errors import InputError
from ekslift.versions import VersionError, minor_text, parse_minor

SCHEMA_VERSION: Final = 1
Color = Literal["blue", "green"]
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClusterRef(_Strict):
    """One EKS cluster as AWS and kubectl each name it (they often differ in real estates)."""

    eks_cluster: str = Field(min_length=1, max_length=100)
    kube_context: str = Field(min_length=1)


class AlbTraffic(_Strict):
    listener_arn: ListenerArn
    rule_arn: RuleArn | None = None
    blue_target_group_arn: TargetGroupArn
    green_target_group_arn: TargetGroupArn


class Route53Traffic(_Strict):
    hosted_zone_id: str = Field(pattern=r"^(/hostedzone/)?Z[A-Z0-9]{1,32}$")
    record_name: str
    blue_set_identifier: str
    green_set_identifier: str


class TrafficSettings(_Strict):
    alb: AlbTraffic | None = None
    route53: Route53Traffic | None = None
    steps: list[int] = Field(default_factory=lambda: [0, 5, 25, 50, 100])
    soak_seconds: int = Field(default=300, ge=0)

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


class RegionParams(_Strict):
    name: str
    strategy: Literal["blue-green"] = "blue-green"
    blue: ClusterRef
    green: ClusterRef
    traffic: TrafficSettings | None = None

    @field_validator("name")
    @classmethod
    def _aws_region(cls, name: str) -> str:
        if not _REGION.match(name):
            raise ValueError(f"expected an AWS region such as 'us-east-1', got {name!r}")
        return name

    def clusters(self) -> dict[Color, ClusterRef]:
        return {"blue": self.blue, "green": self.green}


class ArgoCDParams(_Strict):
    kube_context: str
    namespace: str = "argocd"


class AwsParams(_Strict):
    profile: str | None = None
    retry_mode: Literal["standard", "adaptive"] = "adaptive"
    max_attempts: int = Field(default=8, ge=1, le=20)


class MetricsParams(_Strict):
    backend: Literal["cloudwatch", "prometheus"] = "cloudwatch"
    prometheus_url: str | None = None

    @model_validator(mode="after")
    def _url_for_prometheus(self) -> MetricsParams:
        if self.backend == "prometheus" and not self.prometheus_url:
            raise ValueError("backend 'prometheus' needs prometheus_url")
        return self


class ChartRepository(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    url: str = Field(pattern=r"^(https?|oci)://")


class ScanParams(_Strict):
    manifest_paths: list[str] = Field(default_factory=list)
    extra_facts: list[str] = Field(default_factory=list)


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

    def matches(self, finding_id: str, today: date) -> bool:
        if self.expires is not None and today > self.expires:
            return False
        return fnmatch.fnmatchcase(finding_id, self.id)


class UpgradeParams(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    environment: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    archive_dir: Annotated[str, AfterValidator(_archive_location)] = "runs"
    archive: ArchiveParams = ArchiveParams()
    apply: bool = False
    target_version: MinorVersion
    aws: AwsParams = AwsParams()
    regions: list[RegionParams] = Field(min_length=1)
    argocd: ArgoCDParams | None = None
    metrics: MetricsParams = MetricsParams()
    chart_repositories: list[ChartRepository] = Field(default_factory=list)
    scan: ScanParams = ScanParams()
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

    @model_validator(mode="after")
    def _unique_regions(self) -> UpgradeParams:
        names = [r.name for r in self.regions]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"each region may appear once; repeated: {', '.join(duplicates)}")
        return self

    def region(self, name: str) -> RegionParams:
        for region in self.regions:
            if region.name == name:
                return region
        known = ", ".join(r.name for r in self.regions)
        raise KeyError(f"region {name!r} is not in the parameters (known: {known})")


def _expand(node: Any, path: str, missing: list[str]) -> Any:
    if isinstance(node, dict):
        return {k: _expand(v, f"{path}.{k}" if path else str(k), missing) for k, v in node.items()}
    if isinstance(node, list):
        return [_expand(v, f"{path}[{i}]", missing) for i, v in enumerate(node)]
    if isinstance(node, str):

        def substitute(match: re.Match[str]) -> str:
            value = os.environ.get(match.group(1)) or match.group(2)
            if value is None:
                missing.append(
                    f"{path}: environment variable {match.group(1)} is not set "
                    '(for the sandbox: eval "$(ekslift sandbox env)")'
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
    missing: list[str] = []
    expanded = _expand(data, "", missing)
    if missing:
        raise ParamsError(source, missing)
    try:
        params = UpgradeParams.model_validate(expanded)
    except ValidationError as exc:
        raise ParamsError(
            source, [f"{_location(e['loc'])}: {_describe(e)}" for e in exc.errors()]
        ) from exc
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
