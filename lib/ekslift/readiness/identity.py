"""Can green's pods assume the same IAM roles as blue's, and can the same people deploy?

A trust policy that admits blue's OIDC issuer only fails on green for the code paths that
assume it, and 5 % of traffic may never hit them: it shows at 100 %. So every role blue's
ServiceAccounts use must trust green's issuer (through an IAM OIDC provider that exists) for
the same subject, with room left under the trust policy size limit; or green has an EKS Pod
Identity association for the ServiceAccount, whose role's policies do not pin blue's
`eks-cluster-name` session tag. Access entries of blue's deployers must exist on green.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from typing import Any

from ekslift.params import ReadinessParams
from ekslift.readiness.models import EksCluster, RegionFacts, Role
from ekslift.readiness.rows import CheckRow

CLUSTER_TAG_KEY = "aws:principaltag/eks-cluster-name"


def provider_arn(role_arn: str, cluster: EksCluster) -> str:
    account = role_arn.split(":")[4]
    partition = role_arn.split(":")[1]
    return f"arn:{partition}:iam::{account}:oidc-provider/{cluster.issuer_host}"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def trusts(role: Role, provider: str, issuer_host: str, subject: str) -> bool:
    """Whether a statement lets `subject` assume the role with a token of that provider."""
    for statement in _list(role.trust_policy.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        actions = _list(statement.get("Action", []))
        if not any(fnmatch.fnmatchcase("sts:AssumeRoleWithWebIdentity", a) for a in actions):
            continue
        federated = _list((statement.get("Principal") or {}).get("Federated", []))
        if provider not in federated:
            continue
        conditions = statement.get("Condition") or {}
        subjects = [
            (op, pattern)
            for op, block in conditions.items()
            for key, values in block.items()
            if key == f"{issuer_host}:sub"
            for pattern in _list(values)
        ]
        if not subjects or any(
            (pattern == subject if op == "StringEquals" else fnmatch.fnmatchcase(subject, pattern))
            for op, pattern in subjects
        ):
            return True
    return False


def trust_statement(provider: str, issuer_host: str, subject: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Federated": provider},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{issuer_host}:sub": subject,
                f"{issuer_host}:aud": "sts.amazonaws.com",
            }
        },
    }


def _cluster_tag_conditions(document: dict[str, Any]) -> Iterator[str]:
    for statement in _list(document.get("Statement", [])):
        for block in (statement.get("Condition") or {}).values():
            for key, values in block.items():
                if key.lower() == CLUSTER_TAG_KEY:
                    yield from (str(v) for v in _list(values))


def judge(facts: RegionFacts, readiness: ReadinessParams) -> list[CheckRow]:
    blue_kube, green_eks = facts.kube.get("blue"), facts.clusters.get("green")
    blue_eks = facts.clusters.get("blue")
    if (
        blue_kube is None
        or blue_kube.service_accounts is None
        or green_eks is None
        or blue_eks is None
    ):
        return []
    rows: list[CheckRow] = []
    region = facts.region
    green_pods = {
        (p.namespace, p.service_account): p for p in (facts.pod_identity or {}).get("green", [])
    }
    missing_provider = False
    for sa in blue_kube.service_accounts:
        obj = f"{sa.namespace}/{sa.name}"
        subject = f"system:serviceaccount:{sa.namespace}:{sa.name}"
        if (sa.namespace, sa.name) in green_pods:
            continue  # green uses Pod Identity for it: judged with the associations below
        provider = provider_arn(sa.role_arn, green_eks)
        if facts.oidc_providers is not None and provider not in facts.oidc_providers:
            missing_provider = True
        role = facts.roles.get(sa.role_arn)
        if role is None:
            if sa.role_arn in facts.roles:
                rows.append(
                    CheckRow(
                        region,
                        "identity",
                        "irsa-role",
                        obj,
                        "fail",
                        f"role {sa.role_arn} does not exist",
                        action="create the role or fix the annotation",
                        role="blue",
                    )
                )
            continue
        if trusts(role, provider, green_eks.issuer_host, subject):
            rows.append(
                CheckRow(
                    region,
                    "identity",
                    "trust-policy",
                    obj,
                    "ok",
                    f"{role.name} trusts green's issuer for {subject}",
                )
            )
            continue
        statement = trust_statement(provider, green_eks.issuer_host, subject)
        after = role.trust_policy_size + len(json.dumps(statement, separators=(",", ":"))) + 1
        fits = after <= readiness.trust_policy_size_limit
        rows.append(
            CheckRow(
                region,
                "identity",
                "trust-policy",
                obj,
                "fail",
                f"role {role.name} does not trust green's issuer {green_eks.issuer_host} for "
                f"{subject}; with it the policy is {after} of {readiness.trust_policy_size_limit} "
                "chars",
                expected="a statement admitting green's issuer and the subject",
                action=(
                    f"in the IAM code, add to {role.name}'s trust policy: "
                    + json.dumps(statement, separators=(",", ":"))
                    if fits
                    else f"{role.name}'s trust policy would exceed "
                    f"{readiness.trust_policy_size_limit} chars: request the IAM quota increase "
                    f"(up to 8192) or give green an EKS Pod Identity association for {obj}"
                ),
            )
        )
    if missing_provider:
        rows.append(
            CheckRow(
                region,
                "identity",
                "oidc-provider",
                green_eks.name,
                "fail",
                f"no IAM OIDC provider for green's issuer {green_eks.issuer}",
                action=f"create the IAM OIDC provider for {green_eks.issuer} (eksctl utils "
                "associate-iam-oidc-provider, or the IAM code)",
                role="green",
            )
        )
    for (namespace, name), association in sorted(green_pods.items()):
        rows.extend(
            _pod_identity_role(
                facts, f"{namespace}/{name}", association.role_arn, blue_eks, green_eks
            )
        )
    for assoc in (facts.pod_identity or {}).get("blue", []):
        if (assoc.namespace, assoc.service_account) not in green_pods:
            rows.append(
                CheckRow(
                    region,
                    "identity",
                    "pod-identity",
                    f"{assoc.namespace}/{assoc.service_account}",
                    "fail",
                    "blue has an EKS Pod Identity association, green has none",
                    action=f"create a Pod Identity association on {green_eks.name} for "
                    f"{assoc.namespace}/{assoc.service_account} with {assoc.role_arn}",
                    role="green",
                )
            )
    rows.extend(_access_entries(facts, readiness))
    return rows


def _pod_identity_role(
    facts: RegionFacts, obj: str, role_arn: str, blue: EksCluster, green: EksCluster
) -> list[CheckRow]:
    role = facts.roles.get(role_arn)
    if role is None:
        return [
            CheckRow(
                facts.region,
                "identity",
                "pod-identity",
                obj,
                "fail",
                f"role {role_arn} of green's association does not exist",
                action="fix the association's role",
                role="green",
            )
        ]
    pinned = {value for document in role.policies for value in _cluster_tag_conditions(document)}
    pins_blue = any(fnmatch.fnmatchcase(blue.name, v) for v in pinned)
    admits_green = any(fnmatch.fnmatchcase(green.name, v) for v in pinned)
    bad = pinned and pins_blue and not admits_green
    return [
        CheckRow(
            facts.region,
            "identity",
            "pod-identity",
            obj,
            "fail" if bad else "ok",
            f"role {role.name}'s policies condition on aws:PrincipalTag/eks-cluster-name = "
            f"{', '.join(sorted(pinned))}: green's session ({green.name}) is denied"
            if bad
            else f"green's Pod Identity association uses {role.name}",
            expected=f"conditions admitting {green.name}",
            action=f"in the IAM code, add {green.name} to the aws:PrincipalTag/eks-cluster-name "
            f"condition of {role.name}'s policies",
            role="green",
        )
    ]


def _access_entries(facts: RegionFacts, readiness: ReadinessParams) -> list[CheckRow]:
    if facts.access_entries is None:
        return []
    green = set(facts.access_entries.get("green", []))
    rows = []
    for principal in sorted(facts.access_entries.get("blue", [])):
        if any(fnmatch.fnmatchcase(principal, p) for p in readiness.access_entries_ignore):
            continue
        present = principal in green
        rows.append(
            CheckRow(
                facts.region,
                "identity",
                "access-entry",
                principal.rsplit("/", 1)[-1],
                "ok" if present else "fail",
                f"{principal} has access on blue" + ("" if present else " but not on green"),
                expected="the same access entry on green",
                action=f"create the access entry for {principal} on {facts.clusters['green'].name} "
                "(with blue's access policies), or list it in readiness.access_entries_ignore",
                role="green",
            )
        )
    return rows
