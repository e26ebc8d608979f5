"""A full demo run archived to the sandbox's S3 (Object Lock): listed, verified, tampered
with, scanned for the planted canaries, and every AWS and Kubernetes request it made held
to the documented policy of the step that made it (docs/iam/)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest

from ekslift import archive
from ekslift.params import load_params
from ekslift.stores import open_store
from ekslift.stores.base import DOCUMENTS
from ekslift_sandbox import seed
from ekslift_sandbox.scenario import (
    ARGOCD_TOKEN_SENTINEL,
    HELM_VALUE_SENTINEL,
    SECRET_SENTINEL,
)
from tests.core.demo import EKSLIFT, DemoOnS3, run
from tests.core.iam import (
    ClusterRole,
    alb_name,
    aws_actions_of,
    load_policy,
    outside_policy,
    step_of,
)

pytestmark = pytest.mark.sandbox
READING_STEPS = ("01-inventory", "02-api-scan", "03-chart-diff", "05-metrics-review")


@pytest.fixture(scope="module")
def s3_run(demo_on_s3: DemoOnS3) -> dict[str, Any]:
    """The session's demo run, archived to the sandbox's S3, with its request logs."""
    return {
        "url": demo_on_s3.url,
        "run_url": demo_on_s3.run_url,
        "run_id": demo_on_s3.run_id,
        "aws": demo_on_s3.aws,
        "kube": demo_on_s3.kube,
        "env": demo_on_s3.env,
    }


def test_s3_run_lists_and_verifies_from_s3(s3_run) -> None:
    store = open_store(s3_run["url"])
    manifest = archive.read_manifest(store, s3_run["run_id"])
    assert manifest.storage is not None
    assert manifest.storage.location == s3_run["run_url"]
    assert (manifest.storage.object_lock, manifest.storage.encryption) == (
        "GOVERNANCE",
        "SSE-S3",
    )
    assert manifest.storage.writer and manifest.storage.writer.startswith("arn:aws:")
    assert all(o.version_id for o in manifest.storage.objects.values())
    assert manifest.storage.objects.keys() == manifest.files.keys()
    listing = run("runs", "--archive", s3_run["url"], "list")
    assert s3_run["run_id"] in listing.stdout and "GOVERNANCE" in listing.stdout
    # The approval the run's shift used sits in the same archive, and is not a run.
    assert store.read_document("demo-1-35.json") is not None
    assert DOCUMENTS not in store.run_ids()
    verified = run("runs", "--archive", s3_run["url"], "verify", s3_run["run_id"][-22:])
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "all file hashes match" in verified.stdout
    for stored in store.listing(s3_run["run_id"]).values():
        assert stored.lock_mode == "GOVERNANCE" and stored.retain_until is not None


def test_nothing_secret_reaches_the_s3_archive(s3_run) -> None:
    store = open_store(s3_run["url"])
    canaries = (SECRET_SENTINEL, HELM_VALUE_SENTINEL, ARGOCD_TOKEN_SENTINEL, "testing-secret")
    for path in store.listing(s3_run["run_id"]):
        text = store.read(s3_run["run_id"], path).decode("utf-8", "replace")
        for canary in canaries:
            assert canary not in text, f"{canary} leaked into {path}"


def test_a_changed_byte_in_s3_fails_verify_naming_the_notebook(s3_run) -> None:
    """Object Lock keeps the archived version; a new version of the key is what tampering
    can do, and verify names it (content and version)."""
    bucket, _, prefix = s3_run["run_url"].removeprefix("s3://").partition("/")
    key = f"{prefix}/notebooks/01-inventory.ipynb"
    s3 = boto3.client("s3", region_name="us-east-1")
    body = bytearray(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[100] = ord("X") if body[100] != ord("X") else ord("Y")
    s3.put_object(Bucket=bucket, Key=key, Body=bytes(body))
    verified = run("runs", "--archive", s3_run["url"], "verify", s3_run["run_id"])
    assert verified.returncode == 1, verified.stdout + verified.stderr
    lines = [x for x in verified.stdout.splitlines() if "notebooks/01-inventory.ipynb" in x]
    assert any("sha256 differs" in x for x in lines), verified.stdout
    assert any("overwritten after the run" in x for x in lines), verified.stdout
    assert hashlib.sha256(bytes(body)).hexdigest()  # the edit really changed the content


def _demo_placeholders(archive_url: str) -> dict[str, str | list[str]]:
    """What docs/iam's `<PLACEHOLDERS>` stand for in the demo: its ALBs, lease table and
    upgrade name, and the sandbox's archive bucket and prefix."""
    params = load_params("params/demo.yaml")
    bucket, _, prefix = archive_url.removeprefix("s3://").partition("/")
    assert params.shift.guard is not None
    return {
        "ACCOUNT_ID": seed.ACCOUNT,
        "ALB_NAME": [
            alb_name(region.traffic.alb.listener_arn)
            for region in params.regions
            if region.traffic is not None and region.traffic.alb is not None
        ],
        "LEASE_TABLE": params.shift.guard.table,
        "UPGRADE_NAME": params.name,
        "ARCHIVE_BUCKET": bucket,
        "PREFIX": prefix,
    }


def test_aws_calls_of_each_step_match_its_policy(s3_run) -> None:
    by_step: dict[str, set[str]] = {}
    for record in s3_run["aws"]:
        step = step_of(record["user_agent"])
        if step is not None:
            by_step.setdefault(step, set()).update(aws_actions_of(record))
    # Step 3 reads charts and clusters, not AWS.
    assert set(READING_STEPS) - {"03-chart-diff"} <= by_step.keys(), by_step.keys()
    # Writes are held to the resources their policy names, not only to the action: the
    # runner archives objects, step 4 writes weights.
    wrote = {(step_of(r["user_agent"]), r["operation"]) for r in s3_run["aws"] if r["resources"]}
    assert {("-", "PutObject"), ("04-traffic-shift", "ModifyListener")} <= wrote, wrote
    placeholders = _demo_placeholders(s3_run["url"])
    outside: dict[str, list[str]] = {}
    for step, actions in by_step.items():
        name = "runner-archive" if step == "-" else step
        if beyond := outside_policy(s3_run["aws"], step, placeholders, policy_name=name):
            outside[step] = beyond
        if step in READING_STEPS:
            policy = load_policy(step)
            assert policy.read_only(), f"the policy of reading step {step} allows writes"
            writes = sorted(a for a in actions if not policy.is_read(a))
            assert not writes, f"reading step {step} made mutating calls: {writes}"
    assert not outside, f"calls outside docs/iam/: {outside}"


def test_kubernetes_requests_of_each_step_are_reads_the_clusterrole_allows(s3_run) -> None:
    role = ClusterRole.load()
    assert role.read_only()
    seen = set()
    for cluster, records in s3_run["kube"].items():
        for record in records:
            # Every step reads clusters (step 4 re-checks readiness), and only reads.
            step = step_of(record["user_agent"])
            assert step not in (None, "-"), f"{cluster}: request by {record['user_agent']!r}"
            seen.add(step)
            assert role.allows(record["method"], record["path"]), (
                f"{step} on {cluster}: {record['method']} {record['path']}"
            )
    # Step 5 reads metrics, not clusters.
    assert set(READING_STEPS) - {"05-metrics-review"} <= seen, seen


def test_a_planted_secret_stops_the_upload_before_anything_is_written(
    sandbox, tmp_path: Path
) -> None:
    from tests.core.test_runner import make_step

    books = tmp_path / "nb"
    books.mkdir()
    make_step(
        books,
        "01-leaky",
        crash=f"(step.artefacts / 'dump.txt').write_text('db: {SECRET_SENTINEL}')",
    )
    params = tmp_path / "params.yaml"
    params.write_text(
        Path("params/demo.yaml")
        .read_text()
        .replace("../examples/deploy", str(Path("examples/deploy").resolve()))
    )
    url = sandbox.env["EKSLIFT_SANDBOX_ARCHIVE"] + "-leak"
    env = {**os.environ, "EKSLIFT_ARCHIVE_DIR": url, "EKSLIFT_STAGING_DIR": str(tmp_path / "s")}
    done = subprocess.run(
        [EKSLIFT, "run", "--params", str(params), "--notebooks", str(books)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert "artefacts/01-leaky/dump.txt" in done.stdout + done.stderr
    assert "canary" in done.stdout + done.stderr and SECRET_SENTINEL not in done.stdout
    assert open_store(url).run_ids() == [], "nothing of the run may reach the archive"


def test_resume_from_s3_downloads_the_run_and_archives_the_rest(sandbox, tmp_path: Path) -> None:
    from tests.core.test_runner import make_step

    books = tmp_path / "nb"
    books.mkdir()
    make_step(books, "01-first")
    make_step(books, "02-second", crash="raise RuntimeError('API unreachable')")
    params = tmp_path / "params.yaml"
    params.write_text(
        Path("params/demo.yaml")
        .read_text()
        .replace("../examples/deploy", str(Path("examples/deploy").resolve()))
    )
    url = sandbox.env["EKSLIFT_SANDBOX_ARCHIVE"] + "-resume"

    def ekslift(staging: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "EKSLIFT_ARCHIVE_DIR": url, "EKSLIFT_STAGING_DIR": staging}
        return subprocess.run(
            [EKSLIFT, *args, "--notebooks", str(books)],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )

    failed = ekslift(str(tmp_path / "first"), "run", "--params", str(params))
    assert failed.returncode == 3, failed.stdout + failed.stderr
    run_url = next(x for x in failed.stdout.splitlines() if "archived in" in x).split()[-1]
    make_step(books, "02-second")
    resumed = ekslift(str(tmp_path / "elsewhere"), "run", "--resume", run_url)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "01-first: skipped" in resumed.stdout
    assert (tmp_path / "elsewhere" / run_url.rsplit("/", 1)[1] / "manifest.json").exists()
    store = open_store(url)
    run_id = run_url.rsplit("/", 1)[1]
    manifest = archive.read_manifest(store, run_id)
    assert [(s.step, s.status) for s in manifest.steps] == [
        ("01-first", "done"),
        ("02-second", "done"),
    ]
    assert archive.verify_run(store, run_id) == []
    # The working copy the resume left is checked by its hashes (the versions and locks in
    # its manifest are the archive's); a copy in a versioned store under another prefix is
    # named as moved, not verified as if it were the archive.
    assert archive.verify(tmp_path / "elsewhere" / run_id) == []
    copy = subprocess.run(
        [EKSLIFT, "runs", "verify", str(tmp_path / "elsewhere" / run_id)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert copy.returncode == 0, copy.stdout + copy.stderr
    assert f"a copy of {run_url}: only its file hashes were checked" in " ".join(
        copy.stdout.split()
    ), copy.stdout
    original = subprocess.run(
        [EKSLIFT, "runs", "verify", run_url], capture_output=True, text=True, timeout=120
    )
    assert original.returncode == 0 and "a copy of" not in original.stdout, original.stdout
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket, prefix = url.removeprefix("s3://").split("/", 1)
    for key in store.listing(run_id):
        s3.copy_object(
            Bucket=bucket,
            Key=f"{prefix}-moved/{run_id}/{key}",
            CopySource={"Bucket": bucket, "Key": f"{prefix}/{run_id}/{key}"},
        )
    moved = archive.verify_run(open_store(f"{url}-moved"), run_id)
    assert [(p.path, p.kind) for p in moved] == [("manifest.json", "location")], moved
