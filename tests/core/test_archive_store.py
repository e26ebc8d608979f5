"""The local archive store through the runner and `ekslift runs verify`: a changed byte is
named, a planted secret fails the run naming the file, the manifest records the storage."""

from __future__ import annotations

from pathlib import Path

from ekslift import archive, runner
from ekslift.cli import main
from ekslift.errors import EXIT_GATE, EXIT_PASS, EXIT_TOOL
from ekslift.stores.local import LocalStore
from tests.core.test_runner import make_step, params_file  # noqa: F401 (fixture)


def test_one_changed_byte_fails_verify_naming_the_notebook(
    tmp_path: Path,
    params_file: Path,  # noqa: F811
    capsys,
) -> None:
    books = tmp_path / "nb"
    books.mkdir()
    make_step(books, "01-first")
    outcome = runner.run(params_file, notebooks_dir=books)
    assert outcome.manifest.storage is not None
    assert outcome.manifest.storage.location == str(outcome.run_dir)
    assert outcome.manifest.storage.objects.keys() == outcome.manifest.files.keys()
    runs = str(outcome.run_dir.parent)
    assert main(["runs", "--archive", runs, "verify", outcome.run_dir.name]) == EXIT_PASS
    notebook = outcome.run_dir / "notebooks" / "01-first.ipynb"
    data = bytearray(notebook.read_bytes())
    data[50] = ord("X") if data[50] != ord("X") else ord("Y")
    notebook.write_bytes(bytes(data))
    (outcome.run_dir / "results" / "01-first.json").unlink()
    (outcome.run_dir / "added.txt").write_text("x")
    capsys.readouterr()
    assert main(["runs", "--archive", runs, "verify", outcome.run_dir.name]) == EXIT_GATE
    out = capsys.readouterr().out
    assert "modified  notebooks/01-first.ipynb: sha256 differs" in out
    assert "missing   results/01-first.json" in out
    assert "added     added.txt: not in the manifest" in out
    assert main(["runs", "verify", str(outcome.run_dir)]) == EXIT_GATE


def test_a_secret_in_an_artefact_fails_the_run_and_names_the_file(
    tmp_path: Path,
    params_file: Path,  # noqa: F811
) -> None:
    books = tmp_path / "nb"
    books.mkdir()
    make_step(books, "01-first")
    make_step(
        books,
        "02-leaky",
        crash="(step.artefacts / 'env.txt').write_text('DB=postgres://u:hunter2@db/x')",
    )
    make_step(books, "03-never")
    events: list[runner.StepEvent] = []
    outcome = runner.run(params_file, notebooks_dir=books, on_event=events.append)
    assert outcome.exit_code == EXIT_TOOL
    leaky = outcome.manifest.step("02-leaky")
    assert leaky is not None and leaky.status == "error"
    assert "artefacts/02-leaky/env.txt: line 1: connection-string" in leaky.error
    assert "hunter2" not in leaky.error
    assert [e.step for e in events if e.phase == "started"] == ["01-first", "02-leaky"]
    stored = outcome.manifest.storage
    assert stored is not None and "artefacts/02-leaky/env.txt" not in stored.objects
    assert "artefacts/01-first/seen.txt" in stored.objects
    assert archive.load_manifest(outcome.run_dir).steps[1].status == "error"


def test_documents_live_beside_the_runs_and_are_not_runs(tmp_path: Path) -> None:
    """Approvals are kept in the archive (reached by approver and operator alike), never
    listed as a run."""
    store = LocalStore(tmp_path)
    assert store.read_document("upgrade.json") is None
    store.write_document("upgrade.json", b'{"approved": true}')
    assert store.read_document("upgrade.json") == b'{"approved": true}'
    assert store.document_url("upgrade.json") == f"{tmp_path}/approvals/upgrade.json"
    assert store.run_ids() == []
