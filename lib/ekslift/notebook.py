"""What every step notebook does first and last, so the notebooks stay a few lines a cell.

Interactively (JupyterLab, no `run_dir` injected) a step writes into a scratch run under
`<archive>/interactive/`, so an operator can explore without touching the audit trail;
under the runner it writes into the run being archived.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from IPython.display import Image
from matplotlib.figure import Figure

from ekslift import archive
from ekslift.gate import Approval, Finding, StepResult, conclude, enforce, findings_table
from ekslift.params import UpgradeParams, load_params
from ekslift.redact import RedactingFilter


@dataclass(frozen=True)
class StepContext:
    step: str
    params: UpgradeParams
    run_dir: Path
    artefacts: Path
    # Caches (helm's repository index, pulled charts) go here, not into the archived run.
    scratch: Path = field(default_factory=lambda: _scratch_dir())

    def save_figure(self, figure: Figure, name: str) -> Image:
        """Keep the plot as an artefact and return it for display (HTML exports embed it)."""
        path = self.artefacts / f"{name}.png"
        figure.savefig(path, dpi=110)
        return Image(data=path.read_bytes(), format="png", alt=name)

    def conclude(
        self, findings: list[Finding], approvals: list[Approval] | None = None
    ) -> StepResult:
        return conclude(self.run_dir, self.step, findings, self.params, approvals)

    @staticmethod
    def findings_frame(result: StepResult, *, include_info: bool = False) -> pd.DataFrame:
        frame = pd.DataFrame(findings_table(result))
        if frame.empty or include_info:
            return frame
        return frame[frame["severity"] != "info"].reset_index(drop=True)

    @staticmethod
    def enforce(result: StepResult, incomplete: list[str] | tuple[str, ...] = ()) -> None:
        enforce(result, incomplete)


def open_step(step: str, params_path: str, run_dir: str = "") -> StepContext:
    """Load and validate the parameters, and prepare where this step's files go."""
    params = load_params(params_path, archive.params_dir_of(Path(run_dir)) if run_dir else None)
    if run_dir:
        directory = Path(run_dir)
    else:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        directory = params.local_archive_dir() / "interactive" / f"{stamp}-{params.name}"
    artefacts = directory / "artefacts" / step
    artefacts.mkdir(parents=True, exist_ok=True)
    _quiet_logging()
    pd.set_option("display.max_rows", 200)
    pd.set_option("display.max_colwidth", 120)
    return StepContext(step, params, directory, artefacts)


def _scratch_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="ekslift-step-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def _quiet_logging() -> None:
    """Warnings from the library show in the notebook, redacted; debug chatter does not."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("ekslift")
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    root.propagate = False
