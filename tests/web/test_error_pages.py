"""The 500 page after a database error: the request's session is rolled back before it renders.

Issue 19 #5: a view whose flush failed left the request's session refusing every query
(PendingRollbackError). The 500 page loads the logged-in user, so it failed in turn and the answer
went out as a bare error, without the Vietnamese page or the security headers.
"""

from __future__ import annotations

import pytest

from outreach.db import get_session
from outreach.models import AuditLog
from tests.conftest import login

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@pytest.fixture
def broken_app(app):
    """The test's own app with a test-only route whose write fails in the database."""

    @app.get("/__db_error")
    def _db_error():
        session = get_session()
        session.add(AuditLog(action=None, username="x"))  # NOT NULL: the flush fails
        session.flush()
        return "unreachable"

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page, not a traceback
    return app


def _check_security_headers(response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, name
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "fragment"])
def test_a_database_error_gives_the_vietnamese_500_page_with_its_headers(broken_app, headers):
    client = broken_app.test_client()
    assert login(client, "canbo.07210.1").status_code == 302
    response = client.get("/__db_error", headers=headers)
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Hệ thống gặp sự cố" in html
    if not headers:
        assert "<nav" in html  # the whole layout, which loads the logged-in user
    _check_security_headers(response)
    # The session is usable again for the next request.
    assert client.get("/worklist").status_code == 200


def test_an_anonymous_database_error_is_the_same_page(broken_app):
    response = broken_app.test_client().get("/__db_error")
    assert response.status_code == 500
    assert "Hệ thống gặp sự cố" in response.get_data(as_text=True)
    _check_security_headers(response)
