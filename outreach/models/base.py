"""Shared column helpers for the tables."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Aware UTC now: every timestamp is stored in UTC and shown in Asia/Ho_Chi_Minh."""
    return datetime.now(UTC)
