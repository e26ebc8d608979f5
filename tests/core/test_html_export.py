"""The archived HTML of a step reads without a server and without its images: each plot
carries the alternative text StepContext.save_figure gives it, and secrets stay masked."""

from __future__ import annotations

import logging
from pathlib import Path

import nbformat
import pytest
from matplotlib.figure import Figure

from ekslift.archive import finalize_notebook
from ekslift.notebook import StepContext
from ekslift.params import parse_params
from tests.core.test_params import VALID


def test_plots_keep_their_names_as_alternative_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    figure = Figure()
    figure.subplots().plot([0, 1], [1, 0])
    context = StepContext("05-test", parse_params(VALID, "p.yaml"), tmp_path, tmp_path)
    image = context.save_figure(figure, "metrics-us-east-1")
    data, metadata = image._repr_png_()
    cell = nbformat.v4.new_code_cell("plot()")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"image/png": data}, metadata={"image/png": metadata}
        ),
        nbformat.v4.new_output("stream", name="stdout", text="password: hunter2secret\n"),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    executed = tmp_path / "05-test.ipynb"
    nbformat.write(notebook, executed)
    with caplog.at_level(logging.WARNING):
        html = finalize_notebook(executed, tmp_path).read_text()
    assert '<img alt="metrics-us-east-1"' in html and html.count("<img") == 1
    assert "hunter2secret" not in html
    assert "Alternative text is missing" not in caplog.text
