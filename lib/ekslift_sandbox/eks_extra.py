"""The EKS calls moto 5.2 lacks, served by moto's own server in the same shapes as AWS.

moto routes an EKS request to a response class through the ``url_paths`` of
``moto.eks.urls`` and picks the method from botocore's model (method + URI), then
serializes whatever the method returns against the operation's output shape. So the
missing operations are added the way moto adds its own: :class:`EksExtraResponse`
subclasses moto's ``EKSResponse`` with one method per operation, and :func:`install`
points moto's EKS ``url_paths`` (the existing ones and the new URIs) at it before the
server's EKS app is built. Nothing in moto's code is replaced.

State that moto does not keep (updates, add-ons, insights, access entries, platform
versions, the support calendar) lives in :class:`EksExtraState`, keyed by account, region
and cluster. moto's backends are process-global, so is this state (:data:`STATE`); it is
cleared with moto's on ``POST /moto-api/reset`` (see ``awsserver``).

Every answer is checked against botocore's output shape before it is sent (a misspelt
field is a server error, not a silently dropped key), and errors are raised as the modeled
EKS exceptions so the status code, ``x-amzn-ErrorType`` and body match AWS.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from typing import Any, TypeVar

import botocore.session
import moto.eks.urls
import yaml
from botocore.model import Shape, StructureShape
from botocore.validate import ParamValidator
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.eks.models import Cluster, EKSBackend, Nodegroup, eks_backends
from moto.eks.responses import EKSResponse

T = TypeVar("T")

DEFAULT_MAX_RESULTS = 100
SUPPORT_TYPE_EXTENDED = "EXTENDED"
# AL2 AMIs stop at 1.32; EKS has defaulted new managed nodegroups to AL2023 since 1.30.
FIRST_AL2023_DEFAULT_MINOR = 30
# DescribeCluster members moto 5.2's Cluster lacks. moto serializes a cluster from attributes
# named after the output shape's members in snake_case, so these are added under those names;
# the class does not declare them, hence setattr rather than attribute assignment.
_HEALTH = "health"
_UPGRADE_POLICY = "upgrade_policy"


# --------------------------------------------------------------------------- errors


class EksServiceError(ServiceException):
    """An EKS error as modeled by botocore.

    moto serializes a ``ServiceException`` with the error shape named by ``code``: status
    from the model (404, 400, 409), ``x-amzn-ErrorType``, and the shape's members (here
    ``clusterName``/``nodegroupName``/``addonName``) taken from these attributes.
    """

    def __init__(
        self,
        message: str,
        *,
        cluster_name: str | None = None,
        nodegroup_name: str | None = None,
        addon_name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.cluster_name = cluster_name
        self.nodegroup_name = nodegroup_name
        self.addon_name = addon_name


class ResourceNotFoundException(EksServiceError):
    code = "ResourceNotFoundException"


class InvalidParameterException(EksServiceError):
    code = "InvalidParameterException"


class InvalidRequestException(EksServiceError):
    code = "InvalidRequestException"


class ResourceInUseException(EksServiceError):
    code = "ResourceInUseException"


# ------------------------------------------------------------------------ reference data


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def minor_of(version: str) -> tuple[int, int]:
    """``"1.33"`` → ``(1, 33)``; an EKS cluster version is always major.minor."""
    major, _, minor = version.partition(".")
    return int(major), int(minor)


@dataclass(frozen=True)
class KubernetesVersion:
    """One row of the EKS release calendar (``ekslift/inventory/data/eks_versions.yaml``,
    the library's bundled calendar, so the sandbox and the fallback can never disagree)."""

    cluster_version: str
    release_date: datetime
    end_of_standard_support: datetime
    end_of_extended_support: datetime
    default_platform_version: str
    kubernetes_patch_version: str
    ami_release_version: str
    default: bool

    def support_status(self, now: datetime) -> str:
        """``STANDARD_SUPPORT``/``EXTENDED_SUPPORT``/``UNSUPPORTED``, from the dates as EKS does."""
        if now < self.end_of_standard_support:
            return "STANDARD_SUPPORT"
        if now < self.end_of_extended_support:
            return "EXTENDED_SUPPORT"
        return "UNSUPPORTED"

    def as_api(self, now: datetime) -> dict[str, Any]:
        status = self.support_status(now)
        return {
            "clusterVersion": self.cluster_version,
            "clusterType": "eks",
            "defaultPlatformVersion": self.default_platform_version,
            "defaultVersion": self.default,
            "releaseDate": self.release_date,
            "endOfStandardSupportDate": self.end_of_standard_support,
            "endOfExtendedSupportDate": self.end_of_extended_support,
            # `status` is the deprecated lower-case twin of `versionStatus`.
            "status": status.lower().replace("_", "-"),
            "versionStatus": status,
            "kubernetesPatchVersion": self.kubernetes_patch_version,
        }


class VersionCalendar:
    """The EKS Kubernetes versions the sandbox knows, with their support dates."""

    def __init__(self, versions: Iterable[KubernetesVersion]) -> None:
        self._versions = {v.cluster_version: v for v in versions}

    @classmethod
    def from_yaml(cls, text: str) -> VersionCalendar:
        doc = yaml.safe_load(text)
        default = str(doc["defaultVersion"])
        return cls(
            KubernetesVersion(
                cluster_version=str(row["clusterVersion"]),
                release_date=_midnight(row["releaseDate"]),
                end_of_standard_support=_midnight(row["endOfStandardSupportDate"]),
                end_of_extended_support=_midnight(row["endOfExtendedSupportDate"]),
                default_platform_version=str(row["defaultPlatformVersion"]),
                kubernetes_patch_version=str(row["kubernetesPatchVersion"]),
                ami_release_version=str(row["amiReleaseVersion"]),
                default=str(row["clusterVersion"]) == default,
            )
            for row in doc["versions"]
        )

    def get(self, version: str) -> KubernetesVersion | None:
        return self._versions.get(version)

    @property
    def default_version(self) -> str:
        return next(v.cluster_version for v in self._versions.values() if v.default)

    def newest_first(self) -> list[KubernetesVersion]:
        return sorted(self._versions.values(), key=lambda v: minor_of(v.cluster_version))[::-1]


@dataclass(frozen=True)
class AddonVersion:
    """One published version of an add-on and the cluster minors it runs on."""

    addon_version: str
    cluster_versions: tuple[str, ...]
    default_for: frozenset[str]
    architecture: tuple[str, ...]
    compute_types: tuple[str, ...]
    requires_configuration: bool
    requires_iam_permissions: bool

    def as_api(self, kubernetes_version: str | None) -> dict[str, Any]:
        versions = [
            v
            for v in self.cluster_versions
            if kubernetes_version is None or v == kubernetes_version
        ]
        return {
            "addonVersion": self.addon_version,
            "architecture": list(self.architecture),
            "computeTypes": list(self.compute_types),
            "compatibilities": [
                {
                    "clusterVersion": v,
                    "platformVersions": ["*"],
                    "defaultVersion": v in self.default_for,
                }
                for v in versions
            ],
            "requiresConfiguration": self.requires_configuration,
            "requiresIamPermissions": self.requires_iam_permissions,
        }


@dataclass(frozen=True)
class AddonInfo:
    """An add-on of the catalogue (``data/addon_versions.yaml``), newest version first."""

    name: str
    type: str
    publisher: str
    owner: str
    default_namespace: str
    marketplace_information: dict[str, str] | None
    versions: tuple[AddonVersion, ...]

    def version(self, addon_version: str) -> AddonVersion | None:
        return next((v for v in self.versions if v.addon_version == addon_version), None)

    def default_version(self, cluster_version: str) -> AddonVersion | None:
        return next((v for v in self.versions if cluster_version in v.default_for), None)

    def as_api(self, kubernetes_version: str | None) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "addonName": self.name,
            "type": self.type,
            "addonVersions": [
                v.as_api(kubernetes_version)
                for v in self.versions
                if kubernetes_version is None or kubernetes_version in v.cluster_versions
            ],
            "publisher": self.publisher,
            "owner": self.owner,
            "defaultNamespace": self.default_namespace,
        }
        if self.marketplace_information:
            answer["marketplaceInformation"] = dict(self.marketplace_information)
        return answer


class AddonCatalogue:
    """The add-ons and versions DescribeAddonVersions publishes."""

    def __init__(self, addons: Iterable[AddonInfo]) -> None:
        self._addons = {a.name: a for a in addons}

    @classmethod
    def from_yaml(cls, text: str) -> AddonCatalogue:
        addons = []
        for row in yaml.safe_load(text)["addons"]:
            versions = tuple(
                AddonVersion(
                    addon_version=str(v["addonVersion"]),
                    cluster_versions=tuple(str(c) for c in v["clusterVersions"]),
                    default_for=frozenset(str(c) for c in v.get("defaultFor", [])),
                    architecture=tuple(v.get("architecture", row["architecture"])),
                    compute_types=tuple(v.get("computeTypes", row["computeTypes"])),
                    requires_configuration=bool(
                        v.get("requiresConfiguration", row.get("requiresConfiguration", False))
                    ),
                    requires_iam_permissions=bool(
                        v.get("requiresIamPermissions", row.get("requiresIamPermissions", False))
                    ),
                )
                for v in row["versions"]
            )
            addons.append(
                AddonInfo(
                    name=row["addonName"],
                    type=row["type"],
                    publisher=row["publisher"],
                    owner=row["owner"],
                    default_namespace=row["defaultNamespace"],
                    marketplace_information=row.get("marketplaceInformation"),
                    versions=versions,
                )
            )
        return cls(addons)

    def get(self, name: str) -> AddonInfo | None:
        return self._addons.get(name)

    def all(self) -> list[AddonInfo]:
        return list(self._addons.values())


# ------------------------------------------------------------------------------- model


@functools.cache
def _botocore_eks() -> Any:
    """botocore's EKS service model: the contract every answer is checked against."""
    return botocore.session.get_session().get_service_model("eks")


def check_shape(value: dict[str, Any], shape: Shape, what: str) -> None:
    """Raise ``ValueError`` if ``value`` does not fit ``shape`` (unknown key, wrong type).

    botocore's ParamValidator is meant for inputs, but a shape is a shape: it rejects
    unknown members and wrong types, which is what catches a misspelt field.
    """
    report = ParamValidator().validate(value, shape)
    if report.has_errors():
        raise ValueError(f"{what} does not match botocore's model: {report.generate_report()}")


def _shape(name: str) -> StructureShape:
    return _botocore_eks().shape_for(name)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def paginate(
    items: Sequence[T], max_results: int | None, next_token: str | None
) -> tuple[list[T], str | None]:
    """One page of ``items`` and the opaque token of the next, as EKS list calls page."""
    if max_results is not None and not 1 <= max_results <= DEFAULT_MAX_RESULTS:
        raise InvalidParameterException(
            f"maxResults must be between 1 and {DEFAULT_MAX_RESULTS}, got {max_results}."
        )
    start = 0
    if next_token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(next_token))["offset"])
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise InvalidParameterException("The nextToken is not valid.") from exc
    size = max_results or DEFAULT_MAX_RESULTS
    page = list(items[start : start + size])
    more = start + size < len(items)
    return page, (_encode_token(start + size) if more else None)


# ------------------------------------------------------------------------------- state


@dataclass
class _Update:
    """An EKS update: InProgress until ``due_at``, then ``effect`` runs and it is Successful."""

    id: str
    type: str
    params: list[dict[str, str]]
    created_at: datetime
    due_at: datetime
    nodegroup: str | None = None
    addon: str | None = None
    status: str = "InProgress"
    effect: Callable[[], None] | None = None

    def as_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "type": self.type,
            "params": [dict(p) for p in self.params],
            "createdAt": self.created_at,
            "errors": [],
        }


@dataclass
class _Addon:
    name: str
    cluster: str
    version: str
    arn: str
    created_at: datetime
    modified_at: datetime
    ready_at: datetime
    info: AddonInfo
    service_account_role_arn: str | None = None
    configuration_values: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    namespace: str | None = None
    status: str = "CREATING"

    def as_api(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "addonName": self.name,
            "clusterName": self.cluster,
            "status": self.status,
            "addonVersion": self.version,
            "health": {"issues": []},
            "addonArn": self.arn,
            "createdAt": self.created_at,
            "modifiedAt": self.modified_at,
            "tags": dict(self.tags),
            "publisher": self.info.publisher,
            "owner": self.info.owner,
            "podIdentityAssociations": [],
            "namespaceConfig": {"namespace": self.namespace or self.info.default_namespace},
        }
        if self.info.marketplace_information:
            answer["marketplaceInformation"] = dict(self.info.marketplace_information)
        if self.service_account_role_arn:
            answer["serviceAccountRoleArn"] = self.service_account_role_arn
        if self.configuration_values:
            answer["configurationValues"] = self.configuration_values
        return answer


@dataclass
class _ClusterExtras:
    updates: dict[str, _Update] = field(default_factory=dict)
    addons: dict[str, _Addon] = field(default_factory=dict)
    insights: dict[str, dict[str, Any]] = field(default_factory=dict)
    access_entries: dict[str, list[str]] = field(default_factory=dict)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EksExtraState:
    """What EKS keeps and moto does not, plus the seeding API for the scenario builder.

    Updates complete lazily: an update is InProgress until ``update_duration`` has passed
    on ``clock``, and the next read (DescribeUpdate, DescribeCluster, ...) applies it. With
    the default duration of zero an update is InProgress in its own answer and Successful
    at the next read, which keeps tests fast while still exercising the polling path.
    """

    def __init__(
        self,
        calendar: VersionCalendar,
        catalogue: AddonCatalogue,
        clock: Callable[[], datetime] = _utc_now,
        update_duration: timedelta = timedelta(0),
    ) -> None:
        self.calendar = calendar
        self.catalogue = catalogue
        self.clock = clock
        self.update_duration = update_duration
        self._lock = threading.RLock()
        self._clusters: dict[tuple[str, str, str], _ClusterExtras] = {}

    @classmethod
    def from_package_data(cls) -> EksExtraState:
        data = resources.files("ekslift_sandbox") / "data"
        return cls(
            VersionCalendar.from_yaml(
                (resources.files("ekslift.inventory") / "data" / "eks_versions.yaml").read_text()
            ),
            AddonCatalogue.from_yaml((data / "addon_versions.yaml").read_text()),
        )

    def reset(self) -> None:
        """Forget everything (moto's own state is reset separately by moto)."""
        with self._lock:
            self._clusters.clear()

    # -- seeding (direct Python on the in-process state) --------------------------------

    def add_insight(
        self,
        region: str,
        cluster: str,
        insight: dict[str, Any],
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> str:
        """Add an Upgrade Insight (botocore's ``Insight`` shape); returns its id.

        ``id``, ``category`` (UPGRADE_READINESS), ``lastRefreshTime`` and
        ``lastTransitionTime`` are filled in when missing. The insight is validated against
        botocore's model, so a misspelt field fails here rather than vanishing later.
        """
        with self._lock:
            self._cluster(account_id, region, cluster)
            now = self.clock()
            full = copy.deepcopy(insight)
            full.setdefault("id", str(uuid.uuid4()))
            full.setdefault("category", "UPGRADE_READINESS")
            full.setdefault("lastRefreshTime", now)
            full.setdefault("lastTransitionTime", now)
            check_shape(full, _shape("Insight"), f"insight {full.get('name')!r}")
            self._extras(account_id, region, cluster).insights[full["id"]] = full
            return str(full["id"])

    def set_platform_version(
        self,
        region: str,
        cluster: str,
        platform_version: str,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        """Make DescribeCluster report ``platform_version`` (e.g. ``eks.12``)."""
        with self._lock:
            self._cluster(account_id, region, cluster).platformVersion = platform_version

    def set_health(
        self,
        region: str,
        cluster: str,
        issues: list[dict[str, Any]],
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        """Set the ``health.issues`` DescribeCluster reports (``ClusterIssue`` shape)."""
        health = {"issues": copy.deepcopy(issues)}
        check_shape(health, _shape("ClusterHealth"), f"health of cluster {cluster!r}")
        with self._lock:
            setattr(self._cluster(account_id, region, cluster), _HEALTH, health)

    def set_upgrade_policy(
        self,
        region: str,
        cluster: str,
        support_type: str,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        """Set ``upgradePolicy.supportType`` (``STANDARD`` or ``EXTENDED``)."""
        with self._lock:
            setattr(
                self._cluster(account_id, region, cluster),
                _UPGRADE_POLICY,
                {"supportType": support_type},
            )

    def add_access_entry(
        self,
        region: str,
        cluster: str,
        principal_arn: str,
        policy_arns: Sequence[str] = (),
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        """Add an access entry (listed by ListAccessEntries, filterable by policy)."""
        with self._lock:
            self._cluster(account_id, region, cluster)
            entries = self._extras(account_id, region, cluster).access_entries
            entries[principal_arn] = list(policy_arns)

    # -- cluster plumbing -----------------------------------------------------------------

    def _extras(self, account_id: str, region: str, cluster: str) -> _ClusterExtras:
        return self._clusters.setdefault((account_id, region, cluster), _ClusterExtras())

    def _cluster(self, account_id: str, region: str, name: str) -> Cluster:
        """moto's cluster, with EKS defaults moto lacks and due updates applied."""
        backend: EKSBackend = eks_backends[account_id][region]
        cluster = backend.clusters.get(name)
        if cluster is None:
            raise ResourceNotFoundException(
                f"No cluster found for name: {name}.", cluster_name=name
            )
        if not hasattr(cluster, _UPGRADE_POLICY):
            self._adopt(cluster)
        self._settle(self._extras(account_id, region, name))
        return cluster

    def _adopt(self, cluster: Cluster) -> None:
        """Give a moto cluster the fields real EKS reports and moto 5.2 does not."""
        setattr(cluster, _UPGRADE_POLICY, {"supportType": SUPPORT_TYPE_EXTENDED})
        setattr(cluster, _HEALTH, {"issues": []})
        known = self.calendar.get(cluster.version)
        if known is not None:
            cluster.platformVersion = known.default_platform_version

    def _settle(self, extras: _ClusterExtras) -> None:
        now = self.clock()
        for update in extras.updates.values():
            if update.status == "InProgress" and update.due_at <= now:
                if update.effect is not None:
                    update.effect()
                update.status = "Successful"
        for addon in extras.addons.values():
            if addon.status == "CREATING" and addon.ready_at <= now:
                addon.status = "ACTIVE"

    def forget_cluster(self, account_id: str, region: str, name: str) -> None:
        with self._lock:
            self._clusters.pop((account_id, region, name), None)

    def on_cluster_created(
        self, account_id: str, region: str, name: str, version_given: bool, upgrade_policy: Any
    ) -> None:
        """Apply EKS's create-time defaults that moto gets wrong (version 1.19, eks.4)."""
        with self._lock:
            cluster = eks_backends[account_id][region].clusters[name]
            if not version_given:
                cluster.version = self.calendar.default_version
            self._adopt(cluster)
            if upgrade_policy:
                support_type = upgrade_policy.get("supportType", SUPPORT_TYPE_EXTENDED)
                setattr(cluster, _UPGRADE_POLICY, {"supportType": support_type})
            # moto gives every cluster of a process the same OIDC issuer; EKS gives each its
            # own (32 upper-case hex digits), which IAM trust policies tell apart.
            cluster.identity = {
                "oidc": {
                    "issuer": f"https://oidc.eks.{region}.amazonaws.com/id/"
                    + uuid.uuid4().hex.upper()
                }
            }

    def on_nodegroup_created(
        self,
        account_id: str,
        region: str,
        cluster: str,
        nodegroup: str,
        *,
        version_given: bool,
        release_given: bool,
        ami_type_given: bool,
    ) -> None:
        """Default a new nodegroup's version and AMI from its cluster, as EKS does."""
        with self._lock:
            owner = self._cluster(account_id, region, cluster)
            ng: Nodegroup = owner.nodegroups[nodegroup]
            if not version_given:
                ng.version = owner.version
            known = self.calendar.get(ng.version)
            if not release_given and known is not None:
                ng.release_version = known.ami_release_version
            if not ami_type_given and minor_of(ng.version)[1] >= FIRST_AL2023_DEFAULT_MINOR:
                ng.ami_type = "AL2023_x86_64_STANDARD"

    def settle(self, account_id: str, region: str, cluster: str) -> None:
        """Apply due updates of ``cluster`` (before moto answers a Describe call)."""
        with self._lock:
            self._cluster(account_id, region, cluster)

    # -- updates --------------------------------------------------------------------------

    def _new_update(
        self,
        extras: _ClusterExtras,
        type_: str,
        params: list[dict[str, str]],
        effect: Callable[[], None],
        nodegroup: str | None = None,
        addon: str | None = None,
    ) -> _Update:
        now = self.clock()
        update = _Update(
            id=str(uuid.uuid4()),
            type=type_,
            params=params,
            created_at=now,
            due_at=now + self.update_duration,
            nodegroup=nodegroup,
            addon=addon,
            effect=effect,
        )
        extras.updates[update.id] = update
        return update

    def _supported(self, version: str) -> KubernetesVersion:
        known = self.calendar.get(version)
        now = self.clock()
        if known is None or known.release_date > now or known.support_status(now) == "UNSUPPORTED":
            raise InvalidParameterException(f"Kubernetes version {version} is not supported.")
        return known

    def update_cluster_version(
        self, account_id: str, region: str, name: str, version: str, force: bool
    ) -> dict[str, Any]:
        with self._lock:
            cluster = self._cluster(account_id, region, name)
            extras = self._extras(account_id, region, name)
            if (
                any(
                    u.status == "InProgress" and u.nodegroup is None and u.addon is None
                    for u in extras.updates.values()
                )
                or cluster.status != "ACTIVE"
            ):
                raise ResourceInUseException(
                    f"Cluster {name} is currently being updated; wait for the update to "
                    "finish before starting another.",
                    cluster_name=name,
                )
            current, target = minor_of(cluster.version), minor_of(version)
            if target != (current[0], current[1] + 1):
                raise InvalidParameterException(
                    f"Unsupported Kubernetes minor version update from {cluster.version} "
                    f"to {version}",
                    cluster_name=name,
                )
            known = self._supported(version)
            blocking = [
                i["name"]
                for i in extras.insights.values()
                if i["category"] == "UPGRADE_READINESS"
                and i.get("kubernetesVersion") == version
                and i.get("insightStatus", {}).get("status") == "ERROR"
            ]
            if blocking and not force:
                raise InvalidRequestException(
                    f"Cluster {name} cannot be upgraded to {version}: upgrade insights report "
                    f"errors ({', '.join(sorted(blocking))}). Resolve them or retry with force.",
                    cluster_name=name,
                )

            def effect() -> None:
                cluster.version = version
                cluster.platformVersion = known.default_platform_version
                cluster.status = "ACTIVE"

            update = self._new_update(
                extras,
                "VersionUpdate",
                [
                    {"type": "Version", "value": version},
                    {"type": "PlatformVersion", "value": known.default_platform_version},
                ],
                effect,
            )
            cluster.status = "UPDATING"
            return update.as_api()

    def update_nodegroup_version(
        self,
        account_id: str,
        region: str,
        cluster_name: str,
        nodegroup_name: str,
        version: str | None,
        release_version: str | None,
    ) -> dict[str, Any]:
        with self._lock:
            cluster = self._cluster(account_id, region, cluster_name)
            ng = cluster.nodegroups.get(nodegroup_name)
            if ng is None:
                raise ResourceNotFoundException(
                    f"No node group found for name: {nodegroup_name}.",
                    cluster_name=cluster_name,
                    nodegroup_name=nodegroup_name,
                )
            extras = self._extras(account_id, region, cluster_name)
            if ng.status != "ACTIVE":
                raise ResourceInUseException(
                    f"Nodegroup {nodegroup_name} is currently being updated.",
                    cluster_name=cluster_name,
                    nodegroup_name=nodegroup_name,
                )
            target = version or cluster.version
            if minor_of(target) > minor_of(cluster.version):
                raise InvalidParameterException(
                    f"Requested Nodegroup Kubernetes version {target} is greater than the "
                    f"cluster version {cluster.version}.",
                    cluster_name=cluster_name,
                    nodegroup_name=nodegroup_name,
                )
            known = self.calendar.get(target)
            release = release_version or (known.ami_release_version if known else None)
            if release is None:
                raise InvalidParameterException(
                    f"No AMI release is known for Kubernetes version {target}.",
                    cluster_name=cluster_name,
                    nodegroup_name=nodegroup_name,
                )

            def effect() -> None:
                ng.version = target
                ng.release_version = release
                ng.status = "ACTIVE"

            update = self._new_update(
                extras,
                "VersionUpdate",
                [
                    {"type": "Version", "value": target},
                    {"type": "ReleaseVersion", "value": release},
                ],
                effect,
                nodegroup=nodegroup_name,
            )
            ng.status = "UPDATING"
            return update.as_api()

    def describe_update(
        self,
        account_id: str,
        region: str,
        name: str,
        update_id: str,
        nodegroup: str | None,
        addon: str | None,
    ) -> dict[str, Any]:
        with self._lock:
            self._cluster(account_id, region, name)
            update = self._extras(account_id, region, name).updates.get(update_id)
            if update is None or (update.nodegroup, update.addon) != (nodegroup, addon):
                raise ResourceNotFoundException(
                    f"No update found for ID: {update_id}.",
                    cluster_name=name,
                    nodegroup_name=nodegroup,
                    addon_name=addon,
                )
            return update.as_api()

    def list_updates(
        self,
        account_id: str,
        region: str,
        name: str,
        nodegroup: str | None,
        addon: str | None,
        max_results: int | None,
        next_token: str | None,
    ) -> dict[str, Any]:
        with self._lock:
            self._cluster(account_id, region, name)
            ids = [
                u.id
                for u in self._extras(account_id, region, name).updates.values()
                if (u.nodegroup, u.addon) == (nodegroup, addon)
            ]
            page, token = paginate(ids, max_results, next_token)
            return _with_token({"updateIds": page}, token)

    # -- add-ons --------------------------------------------------------------------------

    def _addon(self, account_id: str, region: str, cluster: str, name: str) -> _Addon:
        self._cluster(account_id, region, cluster)
        addon = self._extras(account_id, region, cluster).addons.get(name)
        if addon is None:
            raise ResourceNotFoundException(
                f"No addon: {name} found in cluster: {cluster}",
                cluster_name=cluster,
                addon_name=name,
            )
        return addon

    def _compatible_version(
        self, info: AddonInfo, cluster: Cluster, addon_version: str | None
    ) -> str:
        if addon_version is None:
            default = info.default_version(cluster.version)
            if default is None:
                raise InvalidParameterException(
                    f"Addon {info.name} specified is not supported in {cluster.version} "
                    "kubernetes version",
                    cluster_name=cluster.name,
                    addon_name=info.name,
                )
            return default.addon_version
        published = info.version(addon_version)
        if published is None or cluster.version not in published.cluster_versions:
            raise InvalidParameterException(
                f"Addon version {addon_version} specified is not supported in "
                f"{cluster.version} kubernetes version for addon {info.name}",
                cluster_name=cluster.name,
                addon_name=info.name,
            )
        return addon_version

    def create_addon(
        self, account_id: str, region: str, cluster_name: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            cluster = self._cluster(account_id, region, cluster_name)
            name = params["addonName"]
            info = self.catalogue.get(name)
            if info is None:
                raise InvalidParameterException(
                    f"Addon {name} specified is not supported", cluster_name=cluster_name
                )
            extras = self._extras(account_id, region, cluster_name)
            if name in extras.addons:
                raise ResourceInUseException(
                    "Addon already exists.", cluster_name=cluster_name, addon_name=name
                )
            version = self._compatible_version(info, cluster, params.get("addonVersion"))
            now = self.clock()
            addon = _Addon(
                name=name,
                cluster=cluster_name,
                version=version,
                arn=(
                    f"arn:{cluster.arn.split(':')[1]}:eks:{region}:{account_id}:addon/"
                    f"{cluster_name}/{name}/{uuid.uuid4()}"
                ),
                created_at=now,
                modified_at=now,
                ready_at=now + self.update_duration,
                info=info,
                service_account_role_arn=params.get("serviceAccountRoleArn"),
                configuration_values=params.get("configurationValues"),
                tags=dict(params.get("tags") or {}),
                namespace=(params.get("namespaceConfig") or {}).get("namespace"),
            )
            extras.addons[name] = addon
            return addon.as_api()

    def describe_addon(
        self, account_id: str, region: str, cluster: str, name: str
    ) -> dict[str, Any]:
        with self._lock:
            return self._addon(account_id, region, cluster, name).as_api()

    def update_addon(
        self, account_id: str, region: str, cluster_name: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        with self._lock:
            cluster = self._cluster(account_id, region, cluster_name)
            addon = self._addon(account_id, region, cluster_name, params["addonName"])
            if addon.status != "ACTIVE":
                raise ResourceInUseException(
                    f"Addon {addon.name} is in {addon.status} state; wait until it is ACTIVE.",
                    cluster_name=cluster_name,
                    addon_name=addon.name,
                )
            requested = params.get("addonVersion")
            version = (
                self._compatible_version(addon.info, cluster, requested)
                if requested
                else addon.version
            )
            update_params = [{"type": "AddonVersion", "value": version}]
            for key, kind in (
                ("resolveConflicts", "ResolveConflicts"),
                ("serviceAccountRoleArn", "ServiceAccountRoleArn"),
                ("configurationValues", "ConfigurationValues"),
            ):
                if params.get(key) is not None:
                    update_params.append({"type": kind, "value": str(params[key])})

            def effect() -> None:
                addon.version = version
                if params.get("serviceAccountRoleArn") is not None:
                    addon.service_account_role_arn = params["serviceAccountRoleArn"]
                if params.get("configurationValues") is not None:
                    addon.configuration_values = params["configurationValues"]
                addon.modified_at = self.clock()
                addon.status = "ACTIVE"

            extras = self._extras(account_id, region, cluster_name)
            update = self._new_update(
                extras, "AddonUpdate", update_params, effect, addon=addon.name
            )
            addon.status = "UPDATING"
            return update.as_api()

    def delete_addon(self, account_id: str, region: str, cluster: str, name: str) -> dict[str, Any]:
        with self._lock:
            addon = self._addon(account_id, region, cluster, name)
            del self._extras(account_id, region, cluster).addons[name]
            addon.status = "DELETING"
            return addon.as_api()

    def list_addons(
        self,
        account_id: str,
        region: str,
        cluster: str,
        max_results: int | None,
        next_token: str | None,
    ) -> dict[str, Any]:
        with self._lock:
            self._cluster(account_id, region, cluster)
            names = sorted(self._extras(account_id, region, cluster).addons)
            page, token = paginate(names, max_results, next_token)
            return _with_token({"addons": page}, token)

    def describe_addon_versions(self, params: dict[str, Any]) -> dict[str, Any]:
        kubernetes_version = params.get("kubernetesVersion")
        wanted = params.get("addonName")
        types, publishers, owners = (
            set(params.get(k) or []) for k in ("types", "publishers", "owners")
        )
        answers = []
        for info in self.catalogue.all():
            if wanted and info.name != wanted:
                continue
            if (
                (types and info.type not in types)
                or (publishers and info.publisher not in publishers)
                or (owners and info.owner not in owners)
            ):
                continue
            answer = info.as_api(kubernetes_version)
            if answer["addonVersions"]:
                answers.append(answer)
        page, token = paginate(answers, params.get("maxResults"), params.get("nextToken"))
        return _with_token({"addons": page}, token)

    # -- insights and access entries ----------------------------------------------------------

    def list_insights(
        self, account_id: str, region: str, cluster: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        flt = params.get("filter") or {}
        categories = set(flt.get("categories") or [])
        versions = set(flt.get("kubernetesVersions") or [])
        statuses = set(flt.get("statuses") or [])
        summary_keys = set(_shape("InsightSummary").members)
        with self._lock:
            self._cluster(account_id, region, cluster)
            chosen = [
                {k: copy.deepcopy(v) for k, v in i.items() if k in summary_keys}
                for i in self._extras(account_id, region, cluster).insights.values()
                if (not categories or i["category"] in categories)
                and (not versions or i.get("kubernetesVersion") in versions)
                and (not statuses or i.get("insightStatus", {}).get("status") in statuses)
            ]
        page, token = paginate(chosen, params.get("maxResults"), params.get("nextToken"))
        return _with_token({"insights": page}, token)

    def describe_insight(
        self, account_id: str, region: str, cluster: str, insight_id: str
    ) -> dict[str, Any]:
        with self._lock:
            self._cluster(account_id, region, cluster)
            insight = self._extras(account_id, region, cluster).insights.get(insight_id)
            if insight is None:
                raise ResourceNotFoundException(
                    f"No insight found for id: {insight_id}.", cluster_name=cluster
                )
            return copy.deepcopy(insight)

    def list_access_entries(
        self, account_id: str, region: str, cluster: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        policy = params.get("associatedPolicyArn")
        with self._lock:
            self._cluster(account_id, region, cluster)
            entries = self._extras(account_id, region, cluster).access_entries
            arns = [arn for arn, policies in entries.items() if not policy or policy in policies]
        page, token = paginate(arns, params.get("maxResults"), params.get("nextToken"))
        return _with_token({"accessEntries": page}, token)

    # -- versions ---------------------------------------------------------------------------

    def describe_cluster_versions(self, params: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        wanted = set(params.get("clusterVersions") or [])
        status = params.get("versionStatus") or (
            params["status"].upper().replace("-", "_") if params.get("status") else None
        )
        rows = []
        if params.get("clusterType", "eks") == "eks":
            for v in self.calendar.newest_first():
                current = v.support_status(now)
                if v.release_date > now or (wanted and v.cluster_version not in wanted):
                    continue
                if params.get("defaultOnly") and not v.default:
                    continue
                if status and current != status:
                    continue
                if current == "UNSUPPORTED" and not (params.get("includeAll") or status):
                    continue
                rows.append(v.as_api(now))
        page, token = paginate(rows, params.get("maxResults"), params.get("nextToken"))
        return _with_token({"clusterVersions": page}, token)


def _with_token(answer: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token:
        answer["nextToken"] = token
    return answer


STATE = EksExtraState.from_package_data()
"""The process-wide state, alongside moto's process-wide backends."""


# ---------------------------------------------------------------------------- responses


class EksExtraResponse(EKSResponse):
    """moto's EKS responses plus the operations moto 5.2 lacks.

    moto calls the method named after the botocore operation (snake_case) and serializes
    its :class:`ActionResult` against the operation's output shape. The new methods read
    their input through moto's model-driven parser (typed: booleans, integers, lists) and
    check their answer against the output shape before returning it.
    """

    def _input(self) -> dict[str, Any]:
        """The request's input members, typed by moto's botocore-model-driven parser."""
        self.parse_parameters(self.normalized_request)
        return dict(self.params)

    def _answer(self, payload: dict[str, Any]) -> ActionResult:
        operation = _botocore_eks().operation_model(self._get_action())
        check_shape(payload, operation.output_shape, f"{operation.name} answer")
        return ActionResult(payload)

    @property
    def _where(self) -> tuple[str, str]:
        return self.current_account, self.region

    # -- moto's operations, completed with what EKS reports ---------------------------------

    def create_cluster(self) -> ActionResult:
        result = super().create_cluster()
        STATE.on_cluster_created(
            *self._where,
            self._get_param("name"),
            version_given=self._get_param("version") is not None,
            upgrade_policy=self._get_param("upgradePolicy"),
        )
        return result

    def describe_cluster(self) -> ActionResult:
        STATE.settle(*self._where, self._get_param("name"))
        return super().describe_cluster()

    def delete_cluster(self) -> ActionResult:
        result = super().delete_cluster()
        STATE.forget_cluster(*self._where, self._get_param("name"))
        return result

    def create_nodegroup(self) -> ActionResult:
        result = super().create_nodegroup()
        STATE.on_nodegroup_created(
            *self._where,
            self._get_param("name"),
            self._get_param("nodegroupName"),
            version_given=self._get_param("version") is not None,
            release_given=self._get_param("releaseVersion") is not None,
            ami_type_given=self._get_param("amiType") is not None,
        )
        return result

    def describe_nodegroup(self) -> ActionResult:
        STATE.settle(*self._where, self._get_param("name"))
        return super().describe_nodegroup()

    # -- operations moto lacks -------------------------------------------------------------

    def update_cluster_version(self) -> ActionResult:
        p = self._input()
        update = STATE.update_cluster_version(
            *self._where, p["name"], p["version"], bool(p.get("force"))
        )
        return self._answer({"update": update})

    def update_nodegroup_version(self) -> ActionResult:
        p = self._input()
        update = STATE.update_nodegroup_version(
            *self._where,
            p["clusterName"],
            p["nodegroupName"],
            p.get("version"),
            p.get("releaseVersion"),
        )
        return self._answer({"update": update})

    def describe_update(self) -> ActionResult:
        p = self._input()
        update = STATE.describe_update(
            *self._where, p["name"], p["updateId"], p.get("nodegroupName"), p.get("addonName")
        )
        return self._answer({"update": update})

    def list_updates(self) -> ActionResult:
        p = self._input()
        return self._answer(
            STATE.list_updates(
                *self._where,
                p["name"],
                p.get("nodegroupName"),
                p.get("addonName"),
                p.get("maxResults"),
                p.get("nextToken"),
            )
        )

    def list_addons(self) -> ActionResult:
        p = self._input()
        return self._answer(
            STATE.list_addons(
                *self._where, p["clusterName"], p.get("maxResults"), p.get("nextToken")
            )
        )

    def create_addon(self) -> ActionResult:
        p = self._input()
        return self._answer({"addon": STATE.create_addon(*self._where, p["clusterName"], p)})

    def describe_addon(self) -> ActionResult:
        p = self._input()
        addon = STATE.describe_addon(*self._where, p["clusterName"], p["addonName"])
        return self._answer({"addon": addon})

    def update_addon(self) -> ActionResult:
        p = self._input()
        return self._answer({"update": STATE.update_addon(*self._where, p["clusterName"], p)})

    def delete_addon(self) -> ActionResult:
        p = self._input()
        addon = STATE.delete_addon(*self._where, p["clusterName"], p["addonName"])
        return self._answer({"addon": addon})

    def describe_addon_versions(self) -> ActionResult:
        return self._answer(STATE.describe_addon_versions(self._input()))

    def list_insights(self) -> ActionResult:
        p = self._input()
        return self._answer(STATE.list_insights(*self._where, p["clusterName"], p))

    def describe_insight(self) -> ActionResult:
        p = self._input()
        insight = STATE.describe_insight(*self._where, p["clusterName"], p["id"])
        return self._answer({"insight": insight})

    def list_access_entries(self) -> ActionResult:
        p = self._input()
        return self._answer(STATE.list_access_entries(*self._where, p["clusterName"], p))

    def describe_cluster_versions(self) -> ActionResult:
        return self._answer(STATE.describe_cluster_versions(self._input()))


EXTRA_URL_PATHS = (
    "{0}/clusters/(?P<name>[^/]+)/updates$",
    "{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$",
    "{0}/clusters/(?P<name>[^/]+)/node-groups/(?P<nodegroupName>[^/]+)/update-version$",
    "{0}/clusters/(?P<name>[^/]+)/addons$",
    "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)$",
    "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)/update$",
    "{0}/clusters/(?P<name>[^/]+)/insights$",
    "{0}/clusters/(?P<name>[^/]+)/insights/(?P<id>[^/]+)$",
    "{0}/clusters/(?P<name>[^/]+)/access-entries$",
    "{0}/addons/supported-versions$",
    "{0}/cluster-versions$",
)
"""URIs of the added operations (from botocore's ``requestUri``), in moto's url_paths form."""


def install() -> None:
    """Route all EKS paths, old and new, to :class:`EksExtraResponse`.

    Must run before the server builds its EKS app (on the first EKS request), since moto
    reads ``url_paths`` then. Idempotent. It changes a module-level dict of moto, so it
    affects every moto server in this process: that is the point, as their backends are
    shared too.
    """
    paths = moto.eks.urls.url_paths
    for path in (*paths, *EXTRA_URL_PATHS):
        paths[path] = EksExtraResponse.dispatch
