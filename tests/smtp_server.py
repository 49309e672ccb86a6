"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for delivery tests.

Addresses containing "bounce" are refused at RCPT with a 550, so a test can see one recipient
fail while the others are served. Use the `smtp_server` fixture (import it into a conftest).
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One message as the server got it: the envelope's recipients and the parsed message."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes

    @property
    def subject(self) -> str:
        """The subject decoded (RFC 2047 words back to Vietnamese text)."""
        return str(self.message["Subject"])

    def body(self) -> str:
        """The plain-text part."""
        return self.message.get_body(preferencelist=("plain",)).get_content()

    def attachments(self) -> list[tuple[str, bytes]]:
        """(file name, bytes) of every attachment."""
        return [(a.get_filename(), a.get_content()) for a in self.message.iter_attachments()]


def pdf_text(data: bytes) -> str:
    """The text a reader sees in a PDF, through pdftotext as the summaries' tests read it."""
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode("utf-8")


@dataclass
class _Handler:
    inbox: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if "bounce" in address:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.arrived:
            self.inbox.append(
                Received(
                    envelope.mail_from, list(envelope.rcpt_tos), message, envelope.original_content
                )
            )
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class SmtpServer:
    """The running server: its URL for OUTREACH_SMTP_URL and what it has received."""

    def __init__(self, handler: _Handler, port: int):
        self._handler = handler
        self.port = port
        self.url = f"smtp://127.0.0.1:{port}"

    @property
    def inbox(self) -> list[Received]:
        """Every message received so far, in order."""
        return list(self._handler.inbox)

    def to(self, address: str) -> list[Received]:
        """The messages one address received."""
        return [m for m in self.inbox if address in m.recipients]

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        """Block until `count` messages arrived (the browser test's publish is asynchronous)."""
        deadline = time.monotonic() + timeout
        with self._handler.arrived:
            while len(self._handler.inbox) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._handler.arrived.wait(left)
        return self.inbox

    def clear(self) -> None:
        """Forget what was received."""
        self._handler.inbox.clear()


def free_port() -> int:
    """A port nobody listens on right now (bound and released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    """A real SMTP server on a free loopback port for one test."""
    handler = _Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(handler, controller.port)
    finally:
        controller.stop()
