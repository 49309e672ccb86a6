"""The loopback SMTP server for the delivery tests."""

from tests.smtp_server import smtp_server  # noqa: F401
