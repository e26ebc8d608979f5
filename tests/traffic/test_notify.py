"""A notification that fails says where and why, but never the webhook's path or query:
an incoming-webhook URL is its own credential, and the problem goes to the state file (and
so to the archive), the lease table and the logs."""

from __future__ import annotations

import logging
import socket

import pytest

from ekslift.params import NotificationSettings
from ekslift.redact import find_secrets
from ekslift.traffic.notify import Notifier
from tests.traffic.conftest import webhook

SECRET = "T0001/B0002/XyZ123secret"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("answer", ["500", "refused"])
def test_a_failed_webhook_names_its_host_never_its_secret(
    answer: str, caplog: pytest.LogCaptureFixture
) -> None:
    with webhook(500) as (listening, _received):
        port = listening if answer == "500" else _closed_port()
        url = f"http://127.0.0.1:{port}/services/{SECRET}?token=querysecret"
        settings = NotificationSettings(webhook_url=url, timeout_seconds=2)
        with caplog.at_level(logging.WARNING, logger="ekslift"):
            problems = Notifier(settings).send({"region": "us-east-1", "summary": "0 → 5 %"})
    assert len(problems) == 1 and problems[0].startswith(f"webhook http://127.0.0.1:{port}: ")
    assert ("500 Server Error" if answer == "500" else "Connection refused") in problems[0]
    for text in (problems[0], caplog.text):
        assert "XyZ123secret" not in text and "querysecret" not in text, text
        assert find_secrets(text) == []
