"""`next=` after a login (and the language switch) goes to a path on this site, never elsewhere
(issue 19, #16): browsers drop tabs and newlines from a URL and read a backslash as a slash, so
"/<tab>/evil.example" was "//evil.example" to them, and a newline was a 500."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from outreach.accounts.views import _safe_next
from outreach.operations.demo import DEMO_PASSWORD
from tests.conftest import csrf_token

NASTY = [
    "//evil.example",
    "///evil.example",
    "//evil.example/households/1",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\r/evil.example",
    "\t//evil.example",
    "\n//evil.example",
    " //evil.example",
    "/ /evil.example",
    "//\tevil.example",
    "/\x0b/evil.example",
    "/\x0c/evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "/\x85/evil.example",
    "/\u00a0/evil.example",
    "/\u2028/evil.example",
    "/\u3000/evil.example",
    "/\u200b/evil.example",
    "/\u202e/evil.example",
    "/\ufeff/evil.example",
    "https://evil.example/",
    "HTTPS://evil.example/",
    "http:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "households/1",
    "/households/1\n",
    " /households/1",
    "/" + "a" * 2001,
]
KEPT = ["/households/1", "/worklist?page=2&q=Nguy%E1%BB%85n", "/dashboard#communes", "/"]


@pytest.mark.parametrize("target", NASTY, ids=repr)
def test_safe_next_refuses_anything_but_a_plain_local_path(app, target):
    with app.test_request_context("/login"):
        assert _safe_next(target) == "/"


@pytest.mark.parametrize("target", KEPT)
def test_safe_next_keeps_a_local_path(app, target):
    with app.test_request_context("/login"):
        assert _safe_next(target) == target
        assert _safe_next(None) == _safe_next("") == "/"


@pytest.mark.parametrize("target", NASTY, ids=repr)
def test_login_never_redirects_off_site(app, target):
    client = app.test_client()
    response = client.post(
        "/login?next=" + quote(target, safe=""),
        data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302  # never a 500
    assert response.headers["Location"] == "/"


def test_login_still_returns_to_the_page_asked_for(app):
    client = app.test_client()
    response = client.post(
        "/login?next=" + quote("/worklist?page=2", safe=""),
        data={
            "username": "canbo.07210.1",
            "password": DEMO_PASSWORD,
            "csrf_token": csrf_token(client),
        },
    )
    assert response.headers["Location"] == "/worklist?page=2"


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\\evil.example", "/\n/evil.example"])
def test_the_language_switch_never_redirects_off_site(login_as, target):
    client = login_as("admin")
    response = client.post(
        "/language", data={"lang": "en", "next": target, "csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
