"""A real OCI registry for charts: Debian's `docker-registry` (the distribution registry).

Charts are pushed with `helm push … --plain-http` exactly as a team publishes to ECR or
GHCR; helm cannot list an OCI chart's versions, so step 3 reads the registry's
`/v2/<name>/tags/list` like any registry's. Optional, like Prometheus: without the binary the
sandbox runs without it and says so.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
from pathlib import Path

import requests

log = logging.getLogger(__name__)
READY_TIMEOUT_S = 20.0
REPOSITORY = "charts"


class OciRegistrySandboxError(Exception):
    """The registry is installed but did not start; the message says where its log is."""


def binary() -> str | None:
    return shutil.which("docker-registry")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OciRegistry:
    """One `docker-registry serve` process storing under `data_dir`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.host = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The chart repository as helm and Argo CD name it: `oci://host:port/charts`."""
        return f"oci://{self.host}/{REPOSITORY}"

    def start(self) -> OciRegistry:
        found = binary()
        if found is None:
            raise OciRegistrySandboxError("docker-registry is not on PATH")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        storage = self.data_dir / "storage"
        shutil.rmtree(storage, ignore_errors=True)  # pushed afresh at every start
        self.host = f"127.0.0.1:{_free_port()}"
        config = self.data_dir / "config.yml"
        config.write_text(
            "version: 0.1\n"
            f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
            f"http:\n  addr: {self.host}\n"
            "log:\n  level: error\n",
            encoding="utf-8",
        )
        log_path = self.data_dir / "registry.log"
        with log_path.open("wb") as log_file:
            self._process = subprocess.Popen(
                [found, "serve", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise OciRegistrySandboxError(f"docker-registry exited; {log_path}:\n{tail}")
            try:
                if requests.get(f"http://{self.host}/v2/", timeout=1).status_code == 200:
                    log.info("OCI registry at %s", self.url)
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise OciRegistrySandboxError(f"docker-registry was not ready; see {log_path}")

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None


def start_if_installed(data_dir: Path) -> OciRegistry | None:
    """The sandbox's OCI registry, or None (logged) where `docker-registry` is missing."""
    if binary() is None:
        log.warning(
            "docker-registry not on PATH: the sandbox runs without an OCI chart registry "
            "(install the Debian package `docker-registry` for OCI charts)"
        )
        return None
    return OciRegistry(data_dir).start()
