"""Diffs show key paths and rules, never values; Renovate's policy and the fragment."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ekslift.chartdiff.diff import object_changes, schema_errors, user_keys_removed
from ekslift.chartdiff.renovate import RenovateConfigError, read_policy

SECRET = "SENTINEL-user-value-do-not-leak"


def test_user_keys_the_new_chart_removed() -> None:
    old = {"legacyQueue": {"enabled": False, "url": ""}, "config": {"data": {}}}
    new = {"config": {"data": {}}}
    user = {"legacyQueue": {"enabled": True}, "config": {"data": {"MY_KEY": SECRET}}}
    # config.data.MY_KEY was never a chart key (a free-form map): not reported.
    assert user_keys_removed(user, old, new) == ["legacyQueue.enabled"]


def test_schema_errors_name_path_and_rule_never_the_value() -> None:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"replicaCount": {"type": "integer"}, "password": {"pattern": "^[a-z]+$"}},
    }
    errors = schema_errors(
        schema, {"replicaCount": 1}, {"legacyQueue": {"url": SECRET}, "password": SECRET}
    )
    assert "(top level): additionalProperties: legacyQueue not allowed" in errors
    assert any(e.startswith("password: pattern") for e in errors)
    assert not any(SECRET in e for e in errors)


def test_object_changes_hide_secret_data() -> None:
    def secret(value: str) -> dict[str, object]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "data": {"password": value},
        }

    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "labels": {"helm.sh/chart": "api-1.0.0"}},
        "spec": {"template": {"spec": {"containers": [{"image": "api:1.0"}]}}},
    }
    moved = json.loads(json.dumps(deploy).replace("api:1.0", "api:2.0").replace("1.0.0", "2.0.0"))
    pdb_old = {
        "apiVersion": "policy/v1beta1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": "api"},
    }
    pdb_new = {**pdb_old, "apiVersion": "policy/v1"}
    changes = object_changes(
        [secret("b2xk"), deploy, pdb_old], [secret(SECRET), moved, pdb_new], "photos"
    )
    by_kind = {c.kind: c for c in changes}
    assert by_kind["Deployment"].images == ("api:1.0 -> api:2.0",)
    assert by_kind["PodDisruptionBudget"].previous_api_version == "policy/v1beta1"
    assert by_kind["Secret"].fields == ("data.password",)
    assert SECRET not in repr(changes)
    # only the chart label changed: no change reported
    assert (
        object_changes([deploy], [json.loads(json.dumps(deploy).replace("1.0.0", "9"))], "x") == []
    )


def test_renovate_policy(tmp_path: Path) -> None:
    path = tmp_path / "renovate.json"
    path.write_text(
        json.dumps(
            {
                "ignoreDeps": ["argo-rollouts"],
                "packageRules": [
                    {"matchPackageNames": ["redis"], "allowedVersions": "<20.0.0"},
                    {"matchDepNames": ["feed"], "allowedVersions": "/^3\\./"},
                ],
            }
        )
    )
    policy = read_policy(path)
    assert policy.ignored("argo-rollouts")
    assert policy.allows("redis", "19.6.4") and not policy.allows("redis", "20.0.0")
    assert policy.allows("feed", "3.3.4") and not policy.allows("feed", "4.0.0")
    path.write_text("{not json")
    with pytest.raises(RenovateConfigError, match="not valid JSON"):
        read_policy(path)
