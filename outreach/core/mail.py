"""E-mail out through one SMTP server, configured by a URL (OUTREACH_SMTP_URL).

`smtp://host:25` (plain), `smtp://user:password@host:587?starttls=1` (STARTTLS), or
`smtps://user:password@host:465` (TLS from the first byte); `?from=addr` sets the sender (else
OUTREACH_MAIL_FROM, else `outreach@<host>`). Sending never raises anything but `MailError`, whose
text says what went wrong in Vietnamese, so a caller can record it and go on.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from outreach.core.errors import DomainError
from outreach.core.i18n import _

TIMEOUT_SECONDS = 20


class MailError(DomainError):
    """A message could not be handed to the SMTP server (or no server is configured)."""


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand messages over."""

    host: str
    port: int
    sender: str
    tls: bool = False  # TLS from the first byte (smtps://)
    starttls: bool = False
    username: str = ""
    password: str = ""


def smtp_settings(url: str | None, *, sender: str = "") -> SmtpSettings | None:
    """Settings from an smtp:// or smtps:// URL; None when no URL is given."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise MailError(
            # The URL may carry a password: it is not repeated in the message.
            _("OUTREACH_SMTP_URL không hợp lệ (ví dụ smtp://host:587 hoặc smtps://host:465).")
        )
    query = parse_qs(parts.query)
    tls = parts.scheme == "smtps"
    starttls = query.get("starttls", ["0"])[0].lower() in {"1", "true", "yes", "on"}
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or (465 if tls else 587 if starttls else 25),
        sender=query.get("from", [""])[0] or sender or f"outreach@{parts.hostname}",
        tls=tls,
        starttls=starttls,
        username=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message."""

    filename: str
    data: bytes
    maintype: str = "application"
    subtype: str = "pdf"


def build_message(
    *,
    sender: str,
    to: str,
    to_name: str = "",
    subject: str,
    body: str,
    attachments: tuple[Attachment, ...] = (),
) -> EmailMessage:
    """A plain-text message in UTF-8 (the subject encoded for any mail reader), with files."""
    message = EmailMessage()
    message["From"] = formataddr(("BHXH tự nguyện — outreach", sender))
    message["To"] = formataddr((to_name, to)) if to_name else to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(body, charset="utf-8")
    for item in attachments:
        message.add_attachment(
            item.data, maintype=item.maintype, subtype=item.subtype, filename=item.filename
        )
    return message


def send_message(settings: SmtpSettings | None, message: EmailMessage) -> None:
    """Hand one message to the server; any failure becomes a `MailError` with the reason."""
    if settings is None:
        raise MailError(_("Chưa cấu hình máy chủ thư (OUTREACH_SMTP_URL)."))
    try:
        if settings.tls:
            context = ssl.create_default_context()
            client = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=TIMEOUT_SECONDS, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT_SECONDS)
        with client:
            if settings.starttls:
                client.starttls(context=ssl.create_default_context())
            if settings.username:
                client.login(settings.username, settings.password)
            client.send_message(message, from_addr=settings.sender)
    except (TimeoutError, smtplib.SMTPException, OSError, UnicodeError, ValueError) as exc:
        raise MailError(
            _(
                "Máy chủ thư %(host)s:%(port)s từ chối hoặc không trả lời: %(error)s",
                host=settings.host,
                port=settings.port,
                error=str(exc) or type(exc).__name__,
            )
        ) from exc


def looks_like_address(text: str) -> bool:
    """A plausible e-mail address: one @, a dot in the domain, no spaces (the server decides)."""
    local, at, domain = text.partition("@")
    return (
        bool(at and local and "." in domain.strip(".") and not any(c.isspace() for c in text))
        and "@" not in domain
        and len(text) <= 254
    )
