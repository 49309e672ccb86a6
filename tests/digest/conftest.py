"""The loopback SMTP server for the digest's e-mail."""

from tests.smtp_server import smtp_server  # noqa: F401
