"""Last line of defence against secrets in a run archive.

The library is built so secrets never reach an output in the first place (Helm values and
Secret data are dropped when decoded, credentials are never displayed). This module is the
belt to those braces, twice over:

* :func:`redact_text` masks secrets by shape in every executed notebook, HTML export and
  log before it is archived, so a secret that slipped into a traceback or a debugging cell
  is masked instead of being kept forever in the audit trail;
* :func:`find_secrets` looks for what is still there in every file of a run before it is
  archived (results, artefacts, CSVs are not rewritten, only checked). An archive under
  S3 Object Lock in compliance mode can never be deleted, so a hit stops the upload
  instead of masking quietly. It also looks for *canaries*: literal strings planted in an
  estate (``EKSLIFT_CANARIES``, comma-separated) that must never reach any output, which is
  how a test proves the first line of defence (dropping values at the source) holds.

Hits name the kind of secret and the line, never the value.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from typing import Any

MASK = "«redacted»"
CANARIES_ENV = "EKSLIFT_CANARIES"
_CREDENTIAL_WORDS = r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIALS?"
# Each pattern masks what follows its `keep` group (or the whole match without one).
_PATTERNS: dict[str, re.Pattern[str]] = {
    "aws-access-key-id": re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{16}\b"),
    "aws-secret": re.compile(
        r"(?i)(?P<keep>(?:aws_secret_access_key|aws_session_token|secret_access_key|session_token)"
        r"\s*[=:]\s*[\"']?)[A-Za-z0-9/+=]{16,}"
    ),
    "bearer-token": re.compile(r"(?i)(?P<keep>bearer\s+)[A-Za-z0-9._~+/=-]{16,}"),
    "jwt": re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"),
    "private-key": re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"
    ),
    # scheme://user:password@host (postgres, mysql, mongodb+srv, redis://:password@, amqp...)
    "connection-string": re.compile(
        r"(?i)(?P<keep>\b[a-z][a-z0-9+.-]*://[^\s:/@\"'<>]*:)[^\s@/\"'<>]+(?=@)"
    ),
    # An incoming webhook's URL is its credential (whoever has it can post): Slack, Discord,
    # Teams and Google Chat keep the host and the kind of hook, the rest is masked.
    "webhook-url": re.compile(
        r"(?i)(?P<keep>https://(?:hooks\.slack\.com/(?:services|workflows|triggers)/"
        r"|(?:[a-z0-9-]+\.)?discord(?:app)?\.com/api/webhooks/"
        r"|[a-z0-9-]+\.webhook\.office\.com/webhookb2/"
        r"|chat\.googleapis\.com/v1/spaces/))[^\s\"'<>]+"
    ),
    # NAME_WITH_SECRET=value, as in a shell, a .env file or a container's `env` dump.
    "credential-variable": re.compile(
        rf"(?P<keep>\b[A-Z0-9_]*(?:{_CREDENTIAL_WORDS})[A-Z0-9_]*\s*=\s*[\"']?)"
        r"[^\s\"',;}]+"
    ),
    # A container env entry: {"name": "DB_PASSWORD", "value": "..."} or its YAML form.
    "credential-env-entry": re.compile(
        rf"(?i)(?P<keep>[\"']?name[\"']?\s*:\s*[\"']?[A-Z0-9_]*(?:{_CREDENTIAL_WORDS})"
        r"[A-Z0-9_]*[\"']?\s*,?\s*[\"']?value[\"']?\s*:\s*[\"']?)[^\s\"',}]+"
    ),
    "secret-pair": re.compile(
        r"(?i)(?P<keep>[\"']?(?:password|passwd|token|secret|api[_-]?key)[\"']?\s*[:=]\s*[\"']?)"
        r"[^\s\"',}]{6,}"
    ),
}
_SECRET_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "KUBE_TOKEN", "ARGOCD_AUTH_TOKEN")
_MIN_ENV_SECRET = 12


@dataclass(frozen=True)
class SecretHit:
    """One secret found in a text: its kind and line, never its value."""

    kind: str
    line: int

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind}"


def _mask(match: re.Match[str]) -> str:
    return (match.groupdict().get("keep") or "") + MASK


def _environment_secrets() -> list[str]:
    values = (os.environ.get(name, "") for name in _SECRET_ENV)
    return [value for value in values if len(value) >= _MIN_ENV_SECRET]


def canaries() -> list[str]:
    """The planted strings of ``EKSLIFT_CANARIES`` that no output may ever contain."""
    raw = os.environ.get(CANARIES_ENV, "")
    return [c.strip() for c in raw.split(",") if c.strip()]


def redact_text(text: str) -> str:
    """Mask credentials, tokens, private keys and secret-looking key/value pairs."""
    for value in _environment_secrets():
        text = text.replace(value, MASK)
    for pattern in _PATTERNS.values():
        text = pattern.sub(_mask, text)
    return text


def find_secrets(text: str) -> list[SecretHit]:
    """Secrets still in ``text``: shapes that are not masked yet, credentials of this
    process's environment, and canaries. Already masked values are not hits."""
    found: list[tuple[int, str]] = []
    for kind, pattern in _PATTERNS.items():
        for match in pattern.finditer(text):
            start = match.end("keep") if "keep" in pattern.groupindex else match.start()
            if not text.startswith(MASK, start):
                found.append((start, kind))
    literals = [("environment-credential", v) for v in _environment_secrets()]
    literals += [("canary", c) for c in canaries()]
    for kind, value in literals:
        found += [(m.start(), kind) for m in re.finditer(re.escape(value), text)]
    return [SecretHit(kind, text.count("\n", 0, at) + 1) for at, kind in sorted(set(found))]


def value_digest(value: Any) -> str:
    """`sha256:<12 hex>` of a secret value: a diff can say *that* a value changed, and a
    reviewer can compare two renders, without the value ever being written."""
    return "sha256:" + hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:12]


def drop_secret_values(obj: Any) -> Any:
    """A Kubernetes object as it may be shown, diffed or stored: a Secret keeps the key
    paths of its `data`/`stringData` with digests for values; anything else is unchanged.
    Every place that shows a rendered or stored manifest goes through this."""
    if not isinstance(obj, dict) or obj.get("kind") != "Secret":
        return obj
    shown = copy.deepcopy(obj)
    for key in ("data", "stringData"):
        if isinstance(shown.get(key), dict):
            shown[key] = {name: value_digest(value) for name, value in shown[key].items()}
        elif key in shown:
            shown[key] = value_digest(shown[key])
    return shown


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
