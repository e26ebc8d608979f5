"""The documented permissions (docs/iam/) as data a test can hold recorded requests to.

Actions and resources: the sandbox records the ARNs each request acted on, and a test says
what the documents' `<PLACEHOLDERS>` (account, ALB name, forward set) stand for in the
sandbox. A Resource line whose placeholder the test leaves unsaid fails the test rather
than matching anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from ekslift.useragent import STEP_PREFIX

IAM_DIR = Path(__file__).resolve().parents[2] / "docs" / "iam"
_PLACEHOLDER = re.compile(r"<([A-Z_]+)>")
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


Placeholders = Mapping[str, str | Sequence[str]]


class UnresolvedPlaceholder(AssertionError):
    """A Resource line names a placeholder the test did not say the value of."""


@dataclass(frozen=True)
class Statement:
    sid: str
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def covers(self, action: str) -> bool:
        return any(fnmatchcase(action.lower(), p.lower()) for p in self.actions)

    def covers_resource(self, resource: str, placeholders: Placeholders) -> bool:
        return any(fnmatchcase(resource, p) for p in self._patterns(placeholders))

    def _patterns(self, placeholders: Placeholders) -> list[str]:
        """The Resource lines with each `<PLACEHOLDER>` put in for every value given."""
        lines = list(self.resources)
        for name in sorted({name for line in lines for name in _PLACEHOLDER.findall(line)}):
            if name not in placeholders:
                raise UnresolvedPlaceholder(
                    f"statement {self.sid} names <{name}>: say what it stands for"
                )
            token, given = f"<{name}>", placeholders[name]
            values = [given] if isinstance(given, str) else list(given)
            lines = [
                line.replace(token, value)
                for line in lines
                for value in (values if token in line else [token])
            ]
        return lines


@dataclass(frozen=True)
class Policy:
    name: str
    statements: tuple[Statement, ...]

    def allows(
        self, action: str, resource: str | None = None, placeholders: Placeholders | None = None
    ) -> bool:
        """IAM's decision for one action, on one resource when given (an explicit Deny
        wins; `placeholders` are the values of the documents' `<PLACEHOLDERS>`)."""

        def applies(statement: Statement) -> bool:
            if not statement.covers(action):
                return False
            return resource is None or statement.covers_resource(resource, placeholders or {})

        allowed = any(applies(s) for s in self.statements if s.effect == "Allow")
        return allowed and not any(applies(s) for s in self.statements if s.effect == "Deny")

    @property
    def allowed(self) -> tuple[str, ...]:
        """Every action an Allow statement names."""
        return tuple(a for s in self.statements if s.effect == "Allow" for a in s.actions)

    def read_only(self) -> bool:
        return all(is_read(action) for action in self.allowed)

    @staticmethod
    def is_read(action: str) -> bool:
        return is_read(action)


def _listed(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def load_policy(name: str) -> Policy:
    document = json.loads((IAM_DIR / f"{name}.json").read_text())
    statements = tuple(
        Statement(
            statement.get("Sid", f"#{number}"),
            statement["Effect"],
            _listed(statement["Action"]),
            _listed(statement["Resource"]),
        )
        for number, statement in enumerate(document["Statement"])
    )
    return Policy(name, statements)


def alb_name(arn: str) -> str:
    """The load balancer's name in its ARN or one of its listeners' or rules' ARNs
    (`…:listener/app/<name>/<lb id>/<listener id>`)."""
    return arn.split(":")[5].split("/")[2]


def outside_policy(
    records: list[dict[str, Any]],
    step: str,
    placeholders: Placeholders | None = None,
    *,
    policy_name: str | None = None,
) -> list[str]:
    """The recorded AWS requests made as `step` that its policy (docs/iam/<step>.json
    unless named) does not allow: each action, and each resource the request acted on
    (requests of other steps, and not of ekslift, are someone else's). `placeholders`
    says what the documents' `<PLACEHOLDERS>` stand for in the sandbox."""
    policy = load_policy(policy_name or step)
    mine = [r for r in records if step_of(r["user_agent"]) == step]
    assert mine, f"no request was made as {step}: the check would prove nothing"
    outside = set()
    for record in mine:
        for action in aws_actions_of(record):
            if not policy.allows(action):
                outside.add(action)
                continue
            for resource in record.get("resources") or ():
                if not policy.allows(action, resource, placeholders):
                    outside.add(f"{action} on {resource}")
    return sorted(outside)


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
