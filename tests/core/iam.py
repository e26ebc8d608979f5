"""The documented permissions (docs/iam/) as data a test can hold recorded requests to.

Actions only, not resources: the sandbox has one account and placeholder ARNs would match
nothing; the step-4 write statements are scoped by resource in the documents themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from ekslift.useragent import STEP_PREFIX

IAM_DIR = Path(__file__).resolve().parents[2] / "docs" / "iam"
_READ_VERBS = ("Describe", "List", "Get", "Head", "BatchGet", "Lookup", "Decrypt")
_IAM_PREFIX = {"elbv2": "elasticloadbalancing", "monitoring": "cloudwatch"}
# S3 operations whose IAM action is not `s3:<operation>`.
_S3_ACTIONS = {
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "HeadObject": "s3:GetObject",
    "ListObjectVersions": "s3:ListBucketVersions",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
}


def step_of(user_agent: str) -> str | None:
    """The step named in an ekslift user agent, `-` for ekslift outside a step (the
    runner, the `runs` commands), None for anything that is not ekslift (the sandbox's
    seeding, a test's own calls)."""
    if "ekslift/" not in user_agent:
        return None
    for token in user_agent.split():
        if token.startswith(STEP_PREFIX):
            return token.removeprefix(STEP_PREFIX)
    return "-"


def aws_actions_of(record: dict[str, Any]) -> list[str]:
    """The IAM action(s) a recorded AWS request needs."""
    service, operation = record["service"], record["operation"]
    if operation is None:
        return [f"{service}:<unidentified {record['method']} {record['path']}>"]
    if service == "s3":
        return [_S3_ACTIONS.get(operation, f"s3:{operation}")]
    return [f"{_IAM_PREFIX.get(service, service)}:{operation}"]


def is_read(action: str) -> bool:
    return action.partition(":")[2].startswith(_READ_VERBS)


@dataclass(frozen=True)
class Policy:
    name: str
    allowed: tuple[str, ...]
    denied: tuple[str, ...]

    def allows(self, action: str) -> bool:
        def match(patterns: tuple[str, ...]) -> bool:
            return any(fnmatchcase(action.lower(), p.lower()) for p in patterns)

        return match(self.allowed) and not match(self.denied)

    def read_only(self) -> bool:
        return all(is_read(action) for action in self.allowed)

    @staticmethod
    def is_read(action: str) -> bool:
        return is_read(action)


def load_policy(name: str) -> Policy:
    document = json.loads((IAM_DIR / f"{name}.json").read_text())
    actions: dict[str, list[str]] = {"Allow": [], "Deny": []}
    for statement in document["Statement"]:
        action = statement["Action"]
        actions[statement["Effect"]] += [action] if isinstance(action, str) else action
    return Policy(name, tuple(actions["Allow"]), tuple(actions["Deny"]))


def outside_policy(records: list[dict[str, Any]], step: str) -> list[str]:
    """The actions of the recorded AWS requests made as `step` that docs/iam/<step>.json
    does not allow (requests of other steps, and not of ekslift, are someone else's)."""
    policy = load_policy(step)
    made = {a for r in records if step_of(r["user_agent"]) == step for a in aws_actions_of(r)}
    assert made, f"no request was made as {step}: the check would prove nothing"
    return sorted(a for a in made if not policy.allows(a))


def _matches(patterns: list[str], value: str) -> bool:
    return any(p == "*" or p == value for p in patterns)


@dataclass(frozen=True)
class ClusterRole:
    rules: tuple[dict[str, Any], ...]

    @classmethod
    def load(cls) -> ClusterRole:
        role = yaml.safe_load((IAM_DIR / "kubernetes-readonly.yaml").read_text())
        return cls(tuple(role["rules"]))

    def read_only(self) -> bool:
        return all(set(rule["verbs"]) <= {"get", "list"} for rule in self.rules)

    def allows(self, method: str, target: str) -> bool:
        """RBAC's decision for one request (resource requests by group/resource/verb,
        everything else by non-resource URL)."""
        url = urlsplit(target)
        parts = [p for p in url.path.split("/") if p]
        query = parse_qs(url.query)
        if parts[:1] == ["api"] and len(parts) >= 3:
            group, rest = "", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, rest = parts[1], parts[3:]
        else:
            return method == "GET" and self._non_resource(url.path)
        if len(rest) >= 3 and rest[0] == "namespaces":
            rest = rest[2:]
        resource, named = rest[0], len(rest) > 1
        if len(rest) > 2:
            resource = f"{resource}/{rest[2]}"
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
            method, "get" if named else ("watch" if "watch" in query else "list")
        )
        return any(
            _matches(rule.get("apiGroups", []), group)
            and _matches(rule.get("resources", []), resource)
            and _matches(rule["verbs"], verb)
            for rule in self.rules
            if "resources" in rule
        )

    def _non_resource(self, path: str) -> bool:
        for rule in self.rules:
            for pattern in rule.get("nonResourceURLs", []):
                if "get" in rule["verbs"] and fnmatchcase(path, pattern):
                    return True
        return False
