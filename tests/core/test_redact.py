"""The archive's last line of defence: secret-looking text is masked wherever it appears."""

from __future__ import annotations

import logging

import nbformat
import pytest

from ekslift.redact import (
    CANARIES_ENV,
    MASK,
    RedactingFilter,
    drop_secret_values,
    find_secrets,
    redact_notebook,
    redact_text,
    value_digest,
)


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


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("DATABASE_URL=postgres://app:hunter2@db:5432/photos", "DATABASE_URL=postgres://app:"),
        ("mongodb+srv://admin:s3cr3t@cluster0.example.net/photos", "mongodb+srv://admin:"),
        ("redis://:hunter2@cache:6379/0", "redis://:"),
        ("AWS_SECRET_ACCESS_KEY=testing-secret", "AWS_SECRET_ACCESS_KEY="),
        ("export DB_PASSWORD='abc'", "export DB_PASSWORD='"),
        ('{"name": "DB_PASSWORD", "value": "xyz"}', '{"name": "DB_PASSWORD", "value": "'),
        ("- name: API_TOKEN\n  value: abcdef", "- name: API_TOKEN\n  value: "),
        (
            "https://hooks.slack.com/services/T0001/B0002/XyZ123abc returned 500",
            "https://hooks.slack.com/services/",
        ),
        ("https://discord.com/api/webhooks/1234/abc-DEF", "https://discord.com/api/webhooks/"),
        (
            "https://contoso.webhook.office.com/webhookb2/1a2b@3c4d/IncomingWebhook/5e/6f",
            "https://contoso.webhook.office.com/webhookb2/",
        ),
    ],
)
def test_connection_strings_and_credential_variables_are_masked_by_shape(
    text: str, kept: str
) -> None:
    redacted = redact_text(text)
    assert redacted.startswith(kept) and MASK in redacted
    assert find_secrets(text) and not find_secrets(redacted)


def test_urls_without_credentials_are_untouched() -> None:
    for text in ("https://example.com/a", "http://user@host/x", "s3://bucket/prefix", "TTL=5"):
        assert redact_text(text) == text and find_secrets(text) == []


def test_find_secrets_names_kind_and_line_never_the_value(monkeypatch) -> None:
    monkeypatch.setenv(CANARIES_ENV, "CANARY-one, CANARY-two")
    hits = find_secrets("ok\nthe CANARY-two is here\npassword: hunter2secret\n")
    assert [(h.kind, h.line) for h in hits] == [("canary", 2), ("secret-pair", 3)]
    assert "CANARY" not in repr(hits) and "hunter2" not in repr(hits)
    assert redact_text("CANARY-one") == "CANARY-one", "canaries are found, never hidden"


def test_secret_values_are_digests_with_key_paths_kept() -> None:
    secret = {"kind": "Secret", "data": {"password": "aHVudGVyMg=="}, "stringData": {"u": "x"}}
    shown = drop_secret_values(secret)
    assert shown["data"] == {"password": value_digest("aHVudGVyMg==")}
    assert shown["stringData"]["u"].startswith("sha256:")
    assert secret["data"]["password"] == "aHVudGVyMg==", "the input is not changed"
    assert drop_secret_values({"kind": "ConfigMap", "data": {"a": "b"}})["data"] == {"a": "b"}
