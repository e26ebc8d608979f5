"""Last line of defence against secrets in a run archive.

The library is built so secrets never reach an output in the first place (Helm values and
Secret data are dropped when decoded, credentials are never displayed). This module is the
belt to those braces: every executed notebook, result and log passes through `redact_text`
before it is archived, so a secret that slipped into a traceback or a debugging cell is
masked instead of being kept forever in the audit trail.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

MASK = "«redacted»"
_PATTERNS = [
    re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16}\b"),
    re.compile(
        r"(?i)(?P<keep>(?:aws_secret_access_key|aws_session_token|secret_access_key|session_token)"
        r"\s*[=:]\s*[\"']?)[A-Za-z0-9/+=]{16,}"
    ),
    re.compile(r"(?i)(?P<keep>bearer\s+)[A-Za-z0-9._~+/=-]{16,}"),
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    re.compile(
        r"(?i)(?P<keep>[\"']?(?:password|passwd|token|secret|api[_-]?key)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s\"',}]{6,}"
    ),
]
_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "KUBE_TOKEN", "ARGOCD_AUTH_TOKEN")
_MIN_ENV_SECRET = 12


def _mask(match: re.Match[str]) -> str:
    return (match.groupdict().get("keep") or "") + MASK


def redact_text(text: str) -> str:
    """Mask credentials, tokens, private keys and secret-looking key/value pairs."""
    for name in _SECRET_ENV:
        value = os.environ.get(name, "")
        if len(value) >= _MIN_ENV_SECRET:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(_mask, text)
    return text


def redact_notebook(nb: Any) -> int:
    """Redact sources and text outputs of an nbformat notebook in place; returns changes."""
    changed = 0
    for cell in nb.cells:
        source = redact_text(cell.get("source", ""))
        changed += source != cell.get("source", "")
        cell["source"] = source
        for output in cell.get("outputs", []):
            before = repr(output)
            if "text" in output:
                output["text"] = redact_text(_join(output["text"]))
            if "traceback" in output:
                output["traceback"] = [redact_text(line) for line in output["traceback"]]
            if "evalue" in output:
                output["evalue"] = redact_text(output["evalue"])
            for mime, value in output.get("data", {}).items():
                textual = mime.startswith("text/") or mime.endswith("json")
                if textual and isinstance(value, (str, list)):
                    output["data"][mime] = redact_text(_join(value))
            changed += before != repr(output)
    return changed


def _join(value: str | list[str]) -> str:
    return "".join(value) if isinstance(value, list) else value


class RedactingFilter(logging.Filter):
    """Attach to a handler so nothing secret reaches a log file either."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        return True
