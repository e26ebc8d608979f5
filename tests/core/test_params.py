"""Parameter validation: every mistake names the file, the key path and what is expected."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ekslift.cli import main
from ekslift.params import ParamsError, load_params, parse_params

LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/photos/0123abcd/4567ef"
TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/photos-blue/89abcdef"
VALID = {
    "name": "upgrade-1-35",
    "environment": "prod",
    "target_version": "1.35",
    "regions": [
        {
            "name": "us-east-1",
            "blue": {"eks_cluster": "photos-blue", "kube_context": "blue"},
            "green": {"eks_cluster": "photos-green", "kube_context": "green"},
            "traffic": {
                "alb": {
                    "listener_arn": LISTENER,
                    "blue_target_group_arn": TG,
                    "green_target_group_arn": TG.replace("blue", "green"),
                }
            },
        }
    ],
}


def broken(**changes: object) -> dict:
    data = copy.deepcopy(VALID)
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        node[keys[-1]] = value
    return data


def problems(data: dict) -> list[str]:
    with pytest.raises(ParamsError) as err:
        parse_params(data, "p.yaml")
    return err.value.problems


def test_valid_parameters_load_with_defaults() -> None:
    params = parse_params(VALID, "p.yaml")
    assert params.target_version == "1.35"
    assert params.regions[0].traffic.steps == [0, 5, 25, 50, 100]
    assert params.apply is False


def test_version_is_normalised() -> None:
    assert parse_params(broken(target_version="v1.35"), "p.yaml").target_version == "1.35"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"colour": "blue"}, "colour: unknown key"),
        ({"target_version": "one.thirty"}, "target_version: expected a Kubernetes minor version"),
        ({"apply": "maybe"}, "apply: Input should be a valid boolean"),
        ({"regions__0__name": "mars-1"}, "regions[0].name: expected an AWS region"),
        ({"regions__0__traffic__alb__listener_arn": "arn:nope"}, "listener_arn: expected an ELBv2"),
        ({"regions__0__traffic__steps": [0, 50, 25]}, "steps: Value error, steps must strictly"),
    ],
)
def test_each_mistake_names_its_key_path(change: dict, expected: str) -> None:
    data = broken(**change) if "__" in next(iter(change)) else {**copy.deepcopy(VALID), **change}
    found = problems(data)
    assert any(expected.replace("Value error, ", "") in p for p in found), found


def test_blue_green_needs_green_and_names_the_key() -> None:
    data = copy.deepcopy(VALID)
    del data["regions"][0]["green"]
    (problem,) = problems(data)
    assert problem.startswith("regions[0].green: required for strategy blue-green")
    assert "strategy: in-place" in problem


IN_PLACE = {
    "name": "mgmt-1-35",
    "environment": "prod",
    "target_version": "1.35",
    "regions": [
        {
            "name": "us-east-1",
            "strategy": "in-place",
            "blue": {"eks_cluster": "mgmt", "kube_context": "mgmt"},
        },
        VALID["regions"][0] | {"name": "eu-west-1"},
    ],
}


def test_in_place_region_has_one_cluster_in_the_in_place_role() -> None:
    from ekslift.estate import estate_clusters

    params = parse_params(IN_PLACE, "p.yaml")
    assert list(params.regions[0].clusters()) == ["in-place"]
    roles = [(c.region, c.role, c.cluster) for c in estate_clusters(params)]
    assert roles == [
        ("us-east-1", "in-place", "mgmt"),
        ("eu-west-1", "blue", "photos-blue"),
        ("eu-west-1", "green", "photos-green"),
    ]


def test_in_place_with_green_or_traffic_is_refused() -> None:
    data = copy.deepcopy(IN_PLACE)
    data["regions"][0]["green"] = {"eks_cluster": "g", "kube_context": "g"}
    data["regions"][0]["traffic"] = VALID["regions"][0]["traffic"]
    found = problems(data)
    assert any(p.startswith("regions[0].green: strategy in-place") for p in found), found
    assert any(p.startswith("regions[0].traffic: strategy in-place") for p in found), found


def test_unset_variables_and_schema_errors_are_reported_together(monkeypatch) -> None:
    monkeypatch.delenv("EKSLIFT_NOT_SET_ANYWHERE", raising=False)
    data = broken(
        regions__0__traffic__alb__listener_arn="${EKSLIFT_NOT_SET_ANYWHERE}", colour="blue"
    )
    found = problems(data)
    assert len(found) == 2, found
    assert found[0].startswith("regions[0].traffic.alb.listener_arn: environment variable")
    assert found[1] == "colour: unknown key (check the spelling against params/example.yaml)"


def test_repeated_region_is_rejected() -> None:
    data = copy.deepcopy(VALID)
    data["regions"].append(copy.deepcopy(data["regions"][0]))
    assert any("repeated: us-east-1" in p for p in problems(data))


def test_environment_references_expand_and_missing_ones_are_named(monkeypatch) -> None:
    data = broken(regions__0__blue__kube_context="${CTX_BLUE}")
    monkeypatch.setenv("CTX_BLUE", "arn-context")
    assert parse_params(data, "p.yaml").regions[0].blue.kube_context == "arn-context"
    monkeypatch.delenv("CTX_BLUE")
    (problem,) = problems(data)
    assert problem.startswith("regions[0].blue.kube_context: environment variable CTX_BLUE")
    data = broken(archive_dir="${EKSLIFT_NOT_SET_ANYWHERE:-runs}")
    assert parse_params(data, "p.yaml").archive_dir == "runs"


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nregions: [\n")
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert str(path) in str(err.value)
    assert "line" in err.value.problems[0]


def test_cli_check_exits_2_and_prints_file_and_key(tmp_path: Path, capsys) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken(regions__0__blue__eks_cluster=42)))
    assert main(["params", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err.replace("\n", "")
    assert "regions[0].blue.eks_cluster" in err


def test_cli_check_accepts_the_example_file() -> None:
    assert main(["params", "check", "params/example.yaml"]) == 0


def test_demo_file_is_valid_with_sandbox_variables(monkeypatch) -> None:
    for key in ("APNE1", "USE1"):
        monkeypatch.setenv(f"EKSLIFT_SANDBOX_{key}_LISTENER_ARN", LISTENER)
        monkeypatch.setenv(f"EKSLIFT_SANDBOX_{key}_BLUE_TG_ARN", TG)
        monkeypatch.setenv(f"EKSLIFT_SANDBOX_{key}_GREEN_TG_ARN", TG.replace("blue", "green"))
    monkeypatch.setenv("EKSLIFT_CHART_REPO_URL", "http://127.0.0.1:1/")
    monkeypatch.setenv("EKSLIFT_COMMUNITY_REPO_URL", "http://127.0.0.1:2/")
    monkeypatch.setenv("EKSLIFT_GITOPS_CHECKOUT", "/nonexistent/gitops")
    monkeypatch.setenv("EKSLIFT_SANDBOX_HISTORY_END", "2026-11-28T09:00:00+00:00")
    params = load_params("params/demo.yaml")
    assert {r.name for r in params.regions} == {"ap-northeast-1", "us-east-1"}
    assert all(w.reason and w.accepted_by for w in params.waivers)


def test_relative_paths_start_where_the_file_is(tmp_path: Path) -> None:
    folder = tmp_path / "params"
    folder.mkdir()
    path = folder / "p.yaml"
    path.write_text(yaml.safe_dump({**VALID, "scan": {"manifest_paths": ["../deploy"]}}))
    params = load_params(path)
    assert params.resolve_path("../deploy") == (tmp_path / "deploy").resolve()
    archived = load_params(path, base_dir=tmp_path / "elsewhere")
    assert archived.resolve_path("x.yaml") == (tmp_path / "elsewhere" / "x.yaml").resolve()


def test_replayed_history_is_refused_in_prod() -> None:
    """The demo judges steps on seeded history; prod must never pass on stale evidence."""
    data = copy.deepcopy(VALID)
    data["shift"] = {"replay": {"until": "2026-11-28T09:00:00Z", "minutes": 60}}
    with pytest.raises(ParamsError, match=r"shift\.replay judges steps on recorded history"):
        parse_params(data, "prod.yaml")
    data["environment"] = "sandbox"
    assert parse_params(data, "sandbox.yaml").shift.replay is not None
