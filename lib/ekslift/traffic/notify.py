"""Every transition goes to the people watching: an SNS topic and/or a webhook.

A notification that cannot be delivered never stops a rollback: the problem is returned
(and recorded in the state file) and the shift goes on. A webhook's problem names only its
scheme and host: an incoming-webhook URL (Slack, Teams, Discord) is its own credential, in
its path or query, and the state file is archived.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from botocore.exceptions import BotoCoreError, ClientError

from ekslift import aws
from ekslift.params import NotificationSettings

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, settings: NotificationSettings, profile: str | None = None) -> None:
        self.settings = settings
        self.profile = profile

    def send(self, event: dict[str, Any]) -> list[str]:
        """Deliver ``event`` to every target; returns what could not be delivered."""
        problems = []
        body = json.dumps(event, sort_keys=True, default=str)
        topic = self.settings.sns_topic_arn
        if topic:
            region = topic.split(":")[3]
            try:
                aws.client("sns", region, self.profile).publish(
                    TopicArn=topic,
                    Subject=f"ekslift {event.get('region', '')}: {event.get('summary', '')}"[:99],
                    Message=body,
                )
            except (ClientError, BotoCoreError) as exc:
                problems.append(f"SNS {topic}: {exc}")
        url = self.settings.webhook_url
        if url:
            try:
                answer = requests.post(
                    url,
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=self.settings.timeout_seconds,
                )
                answer.raise_for_status()
            except requests.RequestException as exc:
                problems.append(_webhook_problem(url, exc))
        for problem in problems:
            log.warning("notification not delivered: %s", problem)
        return problems


def _webhook_problem(url: str, exc: requests.RequestException) -> str:
    """What went wrong, without the URL's path or query (requests names the whole URL, or
    its path, in its errors)."""
    parts = urlsplit(url)
    text = str(exc)
    path_and_query = parts.path + (f"?{parts.query}" if parts.query else "")
    for secret in (url, path_and_query, parts.path):
        if len(secret) > 1:
            text = text.replace(secret, "/…")
    port = f":{parts.port}" if parts.port else ""
    return f"webhook {parts.scheme}://{parts.hostname}{port}: {text}"
