"""A thin, typed wrapper around the real helm binary with an isolated helm home.

ekslift never reimplements Helm: rendering, `kubeVersion` checks, repository indexes and
release records all come from the helm binary an operator would use. Every `Helm` instance
has its own HELM_CONFIG_HOME/HELM_CACHE_HOME/HELM_DATA_HOME under a directory the caller
chooses, so a run never reads or changes the operator's own repositories, registry logins or
plugins, and two runs never race on one repository cache.

Values are secrets by policy: they reach helm only through a private temporary file that is
deleted right after the call, and errors carry the command line (with that file's path) but
never the values themselves.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ekslift.errors import ReadError
from ekslift.redact import redact_text
from ekslift.tools import find_binary

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0
_STDERR_LIMIT = 4000


class HelmError(ReadError):
    """A helm command failed; carries the command line and helm's own explanation."""

    def __init__(self, command: Sequence[str], returncode: int | None, stderr: str) -> None:
        self.command = list(command)
        self.returncode = returncode
        # helm can echo template input in its errors (a `fail` message, a YAML parse error);
        # mask anything secret-looking before it reaches a notebook or log.
        self.stderr = redact_text(stderr.strip()[-_STDERR_LIMIT:])
        status = "timed out" if returncode is None else f"failed (exit {returncode})"
        super().__init__(f"`{shlex.join(self.command)}` {status}: {self.stderr or 'no output'}")


@dataclass(frozen=True)
class ChartVersion:
    """One chart version as a repository index lists it (`helm search repo --versions`)."""

    name: str
    version: str
    app_version: str
    description: str


class Helm:
    """The helm binary, run with an isolated home under `home`.

    `home` is created if needed and may be shared by calls in one run (repositories added
    once are then searchable by later calls); it must not be the operator's own helm home.
    """

    def __init__(
        self, home: Path, *, binary: Path | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.home = Path(home).expanduser().resolve()
        self.binary = Path(binary) if binary is not None else find_binary("helm")
        self.timeout = timeout
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
        for var, sub in (
            ("HELM_CONFIG_HOME", "config"),
            ("HELM_CACHE_HOME", "cache"),
            ("HELM_DATA_HOME", "data"),
        ):
            path = self.home / sub
            path.mkdir(parents=True, exist_ok=True)
            env[var] = str(path)
        self._env = env

    def run(self, *args: str) -> str:
        """Run `helm <args>` and return stdout; raise HelmError with stderr on failure."""
        command = [str(self.binary), *args]
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=self._env,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
            message = f"no result after {self.timeout:.0f}s. {stderr}"
            raise HelmError(command, None, message) from exc
        except OSError as exc:
            raise HelmError(command, None, f"cannot execute helm: {exc}") from exc
        logger.debug(
            "%s -> %s in %.0f ms",
            shlex.join(command),
            proc.returncode,
            (time.perf_counter() - started) * 1000,
        )
        if proc.returncode != 0:
            raise HelmError(command, proc.returncode, proc.stderr)
        return proc.stdout

    @contextmanager
    def _values_file(self, values: Mapping[str, Any] | None) -> Iterator[list[str]]:
        """Yield `-f <file>` arguments for `values`, deleting the file afterwards.

        The file lives in a private (0700) directory so other local users cannot read it
        while helm runs.
        """
        if not values:
            yield []
            return
        tmpdir = Path(tempfile.mkdtemp(prefix="ekslift-values-"))
        try:
            path = tmpdir / "values.yaml"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                yaml.safe_dump(dict(values), handle, sort_keys=False)
            yield ["--values", str(path)]
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    def version(self) -> str:
        """helm's version string, e.g. `v4.1.4`."""
        return self.run("version", "--template", "{{.Version}}").strip()

    def repo_add(self, name: str, url: str) -> None:
        """Add (or re-point) a chart repository in this isolated home and fetch its index."""
        self.run("repo", "add", name, url, "--force-update")

    def repo_update(self) -> None:
        """Refresh the cached index of every repository added to this home."""
        self.run("repo", "update")

    def search_versions(self, repo_chart: str, *, devel: bool = False) -> list[ChartVersion]:
        """Every version of `repo/chart` in the cached index, newest first.

        `helm search repo` matches substrings (`repo/feed` also finds `repo/feed-worker`), so
        only exact name matches are kept.
        """
        args = ["search", "repo", repo_chart, "--versions", "-o", "json"]
        if devel:
            args.append("--devel")
        entries = json.loads(self.run(*args) or "[]")
        return [
            ChartVersion(
                name=entry["name"],
                version=entry["version"],
                app_version=entry.get("app_version", ""),
                description=entry.get("description", ""),
            )
            for entry in entries
            if entry.get("name") == repo_chart
        ]

    def show_chart(self, ref: str, version: str | None = None) -> dict[str, Any]:
        """Chart.yaml of a chart reference (repo/chart, path, URL or oci://) as a dict."""
        args = ["show", "chart", ref]
        if version:
            args += ["--version", version]
        return yaml.safe_load(self.run(*args)) or {}

    def pull(self, ref: str, version: str, dest: Path, *, plain_http: bool = False) -> Path:
        """Download a chart archive into `dest` and return its path.

        helm names the file after the chart's own name, which need not match the reference
        (URLs, OCI), so we pull into an empty directory and move what appears. `plain_http`
        reaches an OCI registry without TLS.
        """
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".pull-", dir=dest) as tmp:
            extra = ["--plain-http"] if plain_http else []
            self.run("pull", ref, "--version", version, "--destination", tmp, *extra)
            archives = list(Path(tmp).glob("*.tgz"))
            if len(archives) != 1:
                raise HelmError(
                    ["helm", "pull", ref, "--version", version],
                    0,
                    f"expected one chart archive, found {[a.name for a in archives]}",
                )
            target = dest / archives[0].name
            os.replace(archives[0], target)
        return target

    def template(
        self,
        chart: str,
        *,
        release_name: str,
        namespace: str,
        version: str | None = None,
        values: Mapping[str, Any] | None = None,
        kube_version: str | None = None,
        api_versions: Sequence[str] | None = None,
        repo_url: str | None = None,
        include_crds: bool = True,
        include_hooks: bool = True,
    ) -> str:
        """Render a chart the way Argo CD does (`helm template`) and return the manifests.

        `kube_version` sets `.Capabilities.KubeVersion` and enforces the chart's
        `kubeVersion` constraint (a HelmError if it does not allow that version).
        `api_versions` feeds `.Capabilities.APIVersions`; helm's built-in list lacks
        resource-level entries, so what a target cluster serves must be passed here.
        """
        args = ["template", release_name, chart, "--namespace", namespace]
        if version:
            args += ["--version", version]
        if repo_url:
            args += ["--repo", repo_url]
        if kube_version:
            args += ["--kube-version", kube_version]
        for api_version in api_versions or ():
            args += ["--api-versions", api_version]
        if include_crds:
            args.append("--include-crds")
        if not include_hooks:
            args.append("--no-hooks")
        with self._values_file(values) as values_args:
            return self.run(*args, *values_args)

    def push(self, archive: Path, registry: str, *, plain_http: bool = False) -> str:
        """`helm push` a chart archive to an OCI registry (`oci://host/path`); helm's report."""
        extra = ["--plain-http"] if plain_http else []
        return self.run("push", str(archive), registry, *extra)

    def package(self, chart_dir: Path, dest: Path) -> Path:
        """`helm package` a chart directory into `dest`; return the archive's path."""
        chart_dir = Path(chart_dir)
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text(encoding="utf-8"))
        self.run("package", str(chart_dir), "--destination", str(dest))
        archive = dest / f"{meta['name']}-{meta['version']}.tgz"
        if not archive.is_file():
            raise HelmError(["helm", "package", str(chart_dir)], 0, f"{archive} was not written")
        return archive

    def repo_index(self, directory: Path, url: str | None = None) -> Path:
        """Write `index.yaml` for the chart archives in `directory`; return its path.

        Without `url` the index holds relative chart URLs, which helm resolves against the
        repository URL, so the directory can be served from any address.
        """
        args = ["repo", "index", str(directory)]
        if url:
            args += ["--url", url]
        self.run(*args)
        return Path(directory) / "index.yaml"

    def install_dry_run_record(
        self,
        chart: str,
        release_name: str,
        namespace: str,
        values: Mapping[str, Any] | None = None,
        kube_version: str | None = None,
        *,
        version: str | None = None,
        api_versions: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """The release record `helm install` would store, made without any cluster.

        This is what the sandbox seeds as release Secrets. The returned dict holds the user
        values (`config`) and chart values exactly as helm stores them, so it must only be
        encoded into storage, never shown. `helm install` has no `--kube-version`, so when
        one is given the manifest is rendered again with `helm template --no-hooks` (which
        prints exactly the release manifest) for that version and the given API versions;
        this also enforces the chart's kubeVersion constraint.
        """
        args = ["install", release_name, chart, "--namespace", namespace]
        args += ["--dry-run=client", "--output", "json"]
        if version:
            args += ["--version", version]
        with self._values_file(values) as values_args:
            record: dict[str, Any] = json.loads(self.run(*args, *values_args))
        if kube_version or api_versions:
            record["manifest"] = self.template(
                chart,
                release_name=release_name,
                namespace=namespace,
                version=version,
                values=values,
                kube_version=kube_version,
                api_versions=api_versions,
                include_crds=False,
                include_hooks=False,
            )
        return record
