"""The archive's last line of defence: secret-looking text is masked wherever it appears."""

from __future__ import annotations

import logging

import nbformat
import pytest

from ekslift.redact import MASK, RedactingFilter, redact_notebook, redact_text


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("key AKIAABCDEFGHIJKLMNOP in use", "key "),
        ("aws_secret_access_key = abcdEFGHijklMNOPqrst1234", "aws_secret_access_key = "),
        ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz", "Authorization: Bearer "),
        ("password: hunter2secret", "password: "),
        ('{"token": "abcdefghi"}', '{"token": "'),
        ("jwt eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4f", "jwt "),
    ],
)
def test_secrets_are_masked(text: str, kept: str) -> None:
    redacted = redact_text(text)
    assert redacted.startswith(kept) and MASK in redacted


def test_plain_text_is_untouched() -> None:
    text = "status: deployed; password reset flow; token bucket of 5"
    assert redact_text(text) == text


def test_environment_credentials_are_masked(monkeypatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEBYaDHl0b2tlbnZhbHVl")
    assert redact_text("token FwoGZXIvYXdzEBYaDHl0b2tlbnZhbHVl end") == f"token {MASK} end"


def test_notebook_outputs_and_sources_are_masked() -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(secret)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="password: hunter2secret\n"),
        nbformat.v4.new_output("error", ename="E", evalue="AKIAABCDEFGHIJKLMNOP", traceback=["x"]),
        nbformat.v4.new_output("display_data", data={"text/html": "<td>token=abcdefghij</td>"}),
    ]
    nb.cells = [cell]
    assert redact_notebook(nb) == 3
    text = nbformat.writes(nb)
    assert "hunter2secret" not in text and "AKIAABCDEFGHIJKLMNOP" not in text
    assert "abcdefghij" not in text


def test_logging_filter(caplog) -> None:
    logger = logging.getLogger("ekslift.test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO):
        logger.info("calling with %s", "Bearer abcdefghijklmnopqrstu")
    assert "abcdefghijklmnopqrstu" not in caplog.text
