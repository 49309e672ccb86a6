"""Login, logout, CSRF, throttling, session expiry for htmx, and the language switch."""

from flask import render_template_string
from flask import session as flask_session
from flask_babel import force_locale
from sqlmodel import select

from outreach.models import AuditLog
from tests.conftest import csrf_token, login


def test_login_page_is_vietnamese(client):
    html = client.get("/login").get_data(as_text=True)
    assert "Đăng nhập" in html and "Tên đăng nhập" in html and "Mật khẩu" in html
    assert 'lang="vi"' in html


def test_remember_me_is_off_by_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="remember"' in html and "checked" not in html.split('name="remember"')[0][-200:]
    response = login(client, "admin")
    assert response.status_code == 302
    assert not any(c.key == "remember_token" for c in client._cookies.values())


def test_bad_login_gets_a_vietnamese_error_and_is_counted(client, session):
    response = login(client, "admin", "sai-mat-khau")
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.get_data(as_text=True)
    assert (
        session.exec(select(AuditLog).where(AuditLog.action == "login_failed")).one().username
        == "admin"
    )


def test_too_many_failures_lock_the_login(client):
    for _ in range(5):
        assert login(client, "admin", "sai").status_code == 401
    response = login(client, "admin")  # right password, but locked
    assert response.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client):
    response = client.post("/login", data={"username": "admin", "password": "Demo@2026"})
    assert response.status_code == 400
    assert "Yêu cầu không hợp lệ" in response.get_data(as_text=True)


def test_logout_is_a_post_with_csrf(login_as):
    client = login_as("admin")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no token
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert client.get("/").status_code == 302  # back to the login page


def test_htmx_request_without_session_gets_hx_redirect(client):
    response = client.get("/households/1", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login")
    assert "<form" not in response.get_data(as_text=True)
    plain = client.get("/households/1")
    assert plain.status_code == 302 and "/login" in plain.headers["Location"]


def test_login_returns_to_the_page_asked_for_but_never_off_site(client):
    token = csrf_token(client)
    data = {"username": "admin", "password": "Demo@2026", "csrf_token": token}
    assert (
        client.post("/login?next=/households/1", data=data).headers["Location"] == "/households/1"
    )
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    data["csrf_token"] = csrf_token(client)
    assert client.post("/login?next=//evil.example/", data=data).headers["Location"] == "/"


def test_english_is_the_second_language(login_as):
    client = login_as("admin")
    response = client.post(
        "/language", data={"lang": "en", "next": "/", "csrf_token": csrf_token(client, "/")}
    )
    assert response.status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert 'lang="en"' in html and "Log out" in html


def test_forced_vietnamese_inside_an_english_request(app):
    # The summary document is rendered in Vietnamese for an English reader (force_locale): the
    # per-request translation memo must follow the switch and come back after it.
    template = '{{ _("Đăng xuất") }} {{ 1125000 | number }}'
    with app.test_request_context("/"):
        flask_session["lang"] = "en"
        before = render_template_string(template)
        with force_locale("vi"):
            inside = render_template_string(template)
        after = render_template_string(template)
    assert before == after == "Log out 1,125,000"
    assert inside == "Đăng xuất 1.125.000"


def test_security_headers(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp
        and "frame-ancestors 'none'" in csp
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_idle_session_expires(app, client):
    import time
    from datetime import timedelta

    app.permanent_session_lifetime = timedelta(seconds=1)
    assert login(client, "admin").status_code == 302
    assert client.get("/").status_code == 200
    time.sleep(2.1)
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_request_sent_before_the_login_does_not_undo_it(app, client):
    """The service worker caches the offline page while the person logs in: that request left
    with the cookie from before the login and answers after it. Its answer must not bring that
    cookie back (an anonymous session is not sent again unless it changed); a logged-in one is,
    with every response, so that it lasts two hours from the last request."""
    client.get("/login")  # the form: an anonymous session holding its CSRF token
    before = client.get_cookie("session").value
    assert login(client, "canbo.07210.1").status_code == 302
    assert client.get_cookie("session").value != before

    early = app.test_client()  # the same phone, as the requests in flight still see it
    early.set_cookie("session", before)
    for path in ("/offline", "/manifest.webmanifest", "/sw.js", "/login", "/session.json"):
        answer = early.get(path)
        assert answer.headers.getlist("Set-Cookie") == [], path  # no cookie to put back
    assert client.get("/worklist").status_code == 200  # still logged in

    again = client.get("/worklist")
    assert any("Expires=" in c for c in again.headers.getlist("Set-Cookie"))
