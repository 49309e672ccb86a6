"""Passwords: the rules a new one follows, Argon2id hashing, and temporary passwords."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

from outreach.core.i18n import _

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
# The passwords tried first by anyone guessing (lower case; compared without regard to case).
COMMON_PASSWORDS = frozenset(
    {
        "12345678",
        "123456789",
        "1234567890",
        "0123456789",
        "11111111",
        "88888888",
        "password",
        "password1",
        "password123",
        "passw0rd",
        "qwerty123",
        "qwertyuiop",
        "abc123456",
        "abcd1234",
        "abc@1234",
        "abc@12345",
        "admin123",
        "admin@123",
        "admin@1234",
        "matkhau",
        "matkhau1",
        "matkhau123",
        "matkhau@123",
        "matkhau1234",
        "bhxh123456",
        "bhxh@12345",
        "vietnam123",
        "vietnam@123",
        "iloveyou",
        "123456aa@",
        "123456a@",
    }
)
# Argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): memory-hard like the
# scrypt of werkzeug's default it replaces (N=2^15, itself under OWASP's scrypt minimum of 2^17),
# and 20 ms of CPU a login instead of 90-100 ms. At the morning's logins of 200 canvassers that
# CPU is what the other requests queue behind (docs/benchmarks.md, Load).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Checked against when the username is unknown, so both paths cost one verification.
_DUMMY_HASH = _HASHER.hash("not-a-real-password")


def password_problem(password: str | None, *, username: str = "") -> str | None:
    """Why a password is refused (in the user's language), or None when it follows the rules.

    At least 10 characters, not only digits (a birthday or a phone number), not the user name
    and not one of the passwords everybody tries first.
    """
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Mật khẩu cần ít nhất %(count)s ký tự.", count=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        return _("Mật khẩu tối đa %(count)s ký tự.", count=MAX_PASSWORD_LENGTH)
    if password.isdigit():
        return _("Mật khẩu không được chỉ gồm chữ số (như ngày sinh hay số điện thoại).")
    if username and password.strip().lower() == username.strip().lower():
        return _("Mật khẩu không được trùng với tên đăng nhập.")
    if password.strip().lower() in COMMON_PASSWORDS:
        return _("Mật khẩu này quá phổ biến, dễ bị đoán. Hãy chọn mật khẩu khác.")
    return None


def hash_password(password: str) -> str:
    """Hash with Argon2id (OWASP's parameters, in the hash itself)."""
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether `password` matches the stored hash: Argon2id, or an older werkzeug scrypt/pbkdf2."""
    if stored.startswith("$argon2"):
        try:
            return _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    try:
        return check_password_hash(stored, password)
    except ValueError:  # not a hash werkzeug knows either
        return False


def needs_rehash(stored: str) -> bool:
    """True for a hash made before Argon2id or with weaker parameters: redone at the next login."""
    return not stored.startswith("$argon2") or _HASHER.check_needs_rehash(stored)


# No 0/O, 1/l/I: the admin reads the temporary password out over the phone.
_TEMP_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
TEMP_PASSWORD_LENGTH = 10


def generate_temporary_password() -> str:
    """A random password that is easy to read aloud, always with a digit and a letter."""
    while True:
        candidate = "".join(secrets.choice(_TEMP_ALPHABET) for _ in range(TEMP_PASSWORD_LENGTH))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate
