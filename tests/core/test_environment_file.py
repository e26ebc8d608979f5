"""environment.yml (conda/mamba users) must ask for exactly what pyproject.toml asks for."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
CONDA_NAMES = {"python-kubernetes": "kubernetes", "matplotlib-base": "matplotlib"}
NOT_PROJECT_DEPENDENCIES = {"python", "pip"}


def _key(requirement: Requirement) -> tuple[str, str, frozenset[str]]:
    return (
        canonicalize_name(requirement.name),
        str(requirement.specifier),
        frozenset(requirement.extras),
    )


def pyproject_requirements() -> set[tuple[str, str, frozenset[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = project["dependencies"] + [
        line for extra in project["optional-dependencies"].values() for line in extra
    ]
    return {_key(Requirement(line)) for line in lines}


def environment_requirements() -> set[tuple[str, str, frozenset[str]]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    found = set()
    for entry in env["dependencies"]:
        if isinstance(entry, dict):
            found |= {_key(Requirement(line)) for line in entry["pip"] if not line.startswith("-")}
            continue
        requirement = Requirement(entry)
        name = CONDA_NAMES.get(requirement.name, requirement.name)
        if name not in NOT_PROJECT_DEPENDENCIES:
            requirement.name = name
            found.add(_key(requirement))
    return found


def test_environment_file_matches_pyproject() -> None:
    assert environment_requirements() == pyproject_requirements()


def test_every_dependency_has_a_lower_bound() -> None:
    for name, specifier, _ in pyproject_requirements():
        assert ">=" in specifier, f"{name} needs a lower bound"
