"""The runner with tiny step notebooks: order, gates, exit codes, resume and the archive."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
import yaml

from ekslift import archive, runner
from ekslift.cli import main
from ekslift.errors import EXIT_GATE, EXIT_PASS
from tests.core.test_params import VALID

STEP_BODY = """
from ekslift.gate import Finding
from ekslift.notebook import open_step
step = open_step({step!r}, params_path, run_dir)
planted = Finding(id="{step_id}/x", severity={severity!r} or "info", title="planted")
findings = [planted] if {severity!r} else []
(step.artefacts / "seen.txt").write_text("ran")
{crash}
result = step.conclude(findings)
"""


def make_step(folder: Path, name: str, severity: str = "", crash: str = "") -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell(
            'params_path = ""\nrun_dir = ""', metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell(
            textwrap.dedent(STEP_BODY).format(
                step=name, step_id=name[3:], severity=severity, crash=crash
            )
        ),
        nbformat.v4.new_code_cell("print('token: abcdefghijklmnop1234')\nstep.enforce(result)"),
    ]
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture
def params_file(tmp_path: Path) -> Path:
    data = {**VALID, "archive_dir": str(tmp_path / "runs")}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def waive(params_file: Path, finding_id: str) -> None:
    data = yaml.safe_load(params_file.read_text())
    data["waivers"] = [{"id": finding_id, "reason": "accepted in the test", "accepted_by": "qa"}]
    params_file.write_text(yaml.safe_dump(data))


def test_steps_run_in_order_and_archive_is_complete(tmp_path: Path, params_file: Path) -> None:
    books = tmp_path / "nb"
    books.mkdir()
    make_step(books, "01-first")
    make_step(books, "02-second", "warning")
    (books / "notes.ipynb").write_text("{}")
    events: list[runner.StepEvent] = []
    outcome = runner.run(params_file, notebooks_dir=books, on_event=events.append)
    assert outcome.exit_code == EXIT_PASS
    assert [(e.step, e.phase) for e in events if e.phase != "started"] == [
        ("01-first", "done"),
        ("02-second", "done"),
    ]
    manifest = archive.load_manifest(outcome.run_dir)
    assert [(s.step, s.verdict) for s in manifest.steps] == [
        ("01-first", "pass"),
        ("02-second", "warn"),
    ]
    assert manifest.verdict == "warn"
    for rel in (
        "params.yaml",
        "notebooks/01-first.ipynb",
        "html/02-second.html",
        "results/02-second.json",
    ):
        assert rel in manifest.files
    assert archive.verify(outcome.run_dir) == []
    executed = (outcome.run_dir / "notebooks" / "01-first.ipynb").read_text()
    assert "abcdefghijklmnop1234" not in executed
    assert "abcdefghijklmnop1234" not in (outcome.run_dir / "html" / "01-first.html").read_text()


def test_failed_gate_stops_and_resume_continues(tmp_path: Path, params_file: Path) -> None:
    books = tmp_path / "nb"
    books.mkdir()
    make_step(books, "01-first")
    make_step(books, "02-second", "blocker")
    make_step(books, "03-third")
    outcome = runner.run(params_file, notebooks_dir=books)
    assert outcome.exit_code == EXIT_GATE
    assert [s.step for s in outcome.manifest.steps] == ["01-first", "02-second"]
    failed = outcome.run_dir / "notebooks" / "02-second.ipynb"
    assert "GateFailed" in failed.read_text()

    waive(params_file, "second/x")
    events: list[runner.StepEvent] = []
    resumed = runner.run(
        params_file, resume=outcome.run_dir, notebooks_dir=books, on_event=events.append
    )
    assert resumed.exit_code == EXIT_PASS
    assert [(e.step, e.phase) for e in events if e.phase != "started"] == [
        ("01-first", "skipped"),
        ("02-second", "done"),
        ("03-third", "done"),
    ]
    manifest = archive.load_manifest(outcome.run_dir)
    assert manifest.params_history == ["params.1.yaml"]
    assert [w.finding_id for w in manifest.waivers["02-second"]] == ["second/x"]
    assert archive.verify(outcome.run_dir) == []


def test_crash_is_a_tool_error_and_a_killed_step_is_redone(
    tmp_path: Path, params_file: Path
) -> None:
    books = tmp_path / "nb"
    books.mkdir()
    make_step(books, "01-first", crash="raise RuntimeError('API unreachable')")
    outcome = runner.run(params_file, notebooks_dir=books)
    assert outcome.exit_code == runner.EXIT_TOOL
    step = outcome.manifest.steps[0]
    assert (step.status, step.verdict) == ("error", None)
    assert "API unreachable" in step.error

    # A process killed mid-step leaves the step "running" and a stale lock: resume redoes it.
    manifest = archive.load_manifest(outcome.run_dir)
    manifest.steps[0].status = "running"
    archive.save_manifest(outcome.run_dir, manifest)
    (outcome.run_dir / runner.LOCK).write_text("999999")
    make_step(books, "01-first")
    resumed = runner.run(None, resume=outcome.run_dir, notebooks_dir=books)
    assert resumed.exit_code == EXIT_PASS
    assert (
        json.loads((outcome.run_dir / "results" / "01-first.json").read_text())["verdict"] == "pass"
    )


def test_only_and_unknown_steps(tmp_path: Path, params_file: Path) -> None:
    books = tmp_path / "nb"
    books.mkdir()
    make_step(books, "01-first")
    make_step(books, "02-second")
    outcome = runner.run(params_file, only="second", notebooks_dir=books)
    assert [s.step for s in outcome.manifest.steps] == ["02-second"]
    with pytest.raises(runner.RunError, match="unknown step 'nope'"):
        runner.run(params_file, start="nope", notebooks_dir=books)


def test_tampered_archive_is_detected(tmp_path: Path, params_file: Path) -> None:
    books = tmp_path / "nb"
    books.mkdir()
    make_step(books, "01-first")
    run_dir = runner.run(params_file, notebooks_dir=books).run_dir
    (run_dir / "results" / "01-first.json").write_text("{}")
    (run_dir / "extra.txt").write_text("x")
    assert [str(p) for p in archive.verify(run_dir)] == [
        "results/01-first.json: sha256 differs from the manifest",
        "extra.txt: not in the manifest",
    ]


def test_cli_fail_on_warn(tmp_path: Path, params_file: Path, capsys) -> None:
    books = tmp_path / "nb"
    books.mkdir()
    make_step(books, "01-first", "warning")
    args = ["run", "--params", str(params_file), "--notebooks", str(books)]
    assert main(args) == EXIT_PASS
    assert "step 1/1 01-first: warn" in capsys.readouterr().out
    assert main([*args, "--fail-on", "warn"]) == EXIT_GATE


def test_run_killed_mid_step_is_resumed(tmp_path: Path, params_file: Path) -> None:
    """A real `ekslift run` killed with SIGKILL while a step runs: resume finishes it."""
    books = tmp_path / "nb"
    books.mkdir()
    make_step(books, "01-first")
    make_step(books, "02-slow", crash="import time; time.sleep(120)")
    runs = tmp_path / "runs"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ekslift.cli",
            "run",
            "--params",
            str(params_file),
            "--notebooks",
            str(books),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    run_dir = None
    while time.monotonic() < deadline:
        manifests = list(runs.glob("*/manifest.json"))
        if manifests:
            run_dir = manifests[0].parent
            steps = archive.load_manifest(run_dir).steps
            if any(s.step == "02-slow" and s.status == "running" for s in steps):
                break
        time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the slow step never started")
    process.kill()
    process.wait()
    assert (run_dir / runner.LOCK).exists(), "the killed run leaves its lock behind"

    make_step(books, "02-slow")
    events: list[runner.StepEvent] = []
    resumed = runner.run(None, resume=run_dir, notebooks_dir=books, on_event=events.append)
    assert resumed.exit_code == EXIT_PASS
    assert [(e.step, e.phase) for e in events if e.phase != "started"] == [
        ("01-first", "skipped"),
        ("02-slow", "done"),
    ]
    assert archive.verify(run_dir) == []
