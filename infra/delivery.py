"""Where reminders go, besides the audit trail: e-mail (SMTP) and a webhook, behind one
interface, each off unless configured by environment.

    for channel in channels(settings).values():
        channel.send(Notice(id=..., subject="...", text="...", payload={...}))

- ``DANVAN_REMINDER_SMTP_URL`` (``smtp://user:password@host:587?starttls=true`` or
  ``smtps://host:465``), ``DANVAN_REMINDER_MAIL_FROM``, ``DANVAN_REMINDER_MAIL_TO``
  (comma-separated): a plain-text UTF-8 mail per notice, whose ``Message-ID`` derives from
  the notice's id, so a mail sent twice (a retried delivery) is recognisably the same mail.
- ``DANVAN_REMINDER_WEBHOOK_URL`` (and ``DANVAN_REMINDER_WEBHOOK_SECRET``): a JSON POST per
  notice with ``X-Danvan-Delivery: <id>`` (the same on a retry) and, with a secret,
  ``X-Danvan-Signature: sha256=<HMAC-SHA256 of the body>``.

A failure raises ``DeliveryError`` (the delivery job retries it with backoff).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from danvan.infra.settings import Settings, SettingsError

TIMEOUT_SECONDS = 10


class DeliveryError(RuntimeError):
    """The channel did not take the notice (to be retried)."""


@dataclass(frozen=True)
class Notice:
    id: str
    subject: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, notice: Notice) -> None: ...


@dataclass(frozen=True)
class SmtpChannel:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    starttls: bool = False
    name: str = "smtp"

    @classmethod
    def from_url(cls, url: str, sender: str, recipients: tuple[str, ...]) -> SmtpChannel:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SettingsError("DANVAN_REMINDER_SMTP_URL must be smtp://host[:port] or "
                                "smtps://host[:port]")
        query = parse_qs(parts.query)
        implicit = parts.scheme == "smtps"
        return cls(host=parts.hostname, port=parts.port or (465 if implicit else 25),
                   sender=sender, recipients=recipients,
                   user=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   implicit_tls=implicit,
                   starttls=query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"))

    def message(self, notice: Notice) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = notice.subject
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.recipients)
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = f"<{notice.id}@danvan>"
        mail.set_content(notice.text, charset="utf-8")
        return mail

    def send(self, notice: Notice) -> None:
        try:
            if self.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=TIMEOUT_SECONDS,
                    context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS)
            with client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.user:
                    client.login(self.user, self.password or "")
                client.send_message(self.message(notice))
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"smtp {self.host}:{self.port}: {exc}") from exc


@dataclass(frozen=True)
class WebhookChannel:
    url: str
    secret: str | None = None
    name: str = "webhook"

    def send(self, notice: Notice) -> None:
        body = json.dumps({"id": notice.id, "subject": notice.subject, "text": notice.text,
                           **notice.payload}, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "X-Danvan-Delivery": notice.id}
        if self.secret:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Danvan-Signature"] = f"sha256={digest}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                status = answer.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"webhook answered {exc.code}") from exc
        except OSError as exc:
            raise DeliveryError(f"webhook: {exc}") from exc
        if not 200 <= status < 300:
            raise DeliveryError(f"webhook answered {status}")


def channels(settings: Settings) -> dict[str, Channel]:
    """The channels the environment configures, by name (none by default)."""
    found: dict[str, Channel] = {}
    if settings.reminder_smtp_url:
        found["smtp"] = SmtpChannel.from_url(settings.reminder_smtp_url,
                                             settings.reminder_mail_from,
                                             settings.reminder_mail_to)
    if settings.reminder_webhook_url:
        found["webhook"] = WebhookChannel(settings.reminder_webhook_url,
                                          settings.reminder_webhook_secret)
    return found
