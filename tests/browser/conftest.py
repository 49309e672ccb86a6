"""Browser fixtures: Debian Chromium on a 360×740 touch phone, against a live server on the demo data.

The live server runs once per session on a private copy of the demo database (SQLite or PostgreSQL,
whichever `tests/conftest.py` chose). Tests share it, so a test that writes (a failed login, an
audited household view) must not change what another test asserts.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from playwright.sync_api import Page
from sqlmodel import Session, select
from werkzeug.serving import make_server

from outreach import create_app
from outreach.models import User

HERE = Path(__file__).resolve().parent
AXE_JS = HERE.parents[1] / "node_modules" / "axe-core" / "axe.min.js"
VIEWPORT = {"width": 360, "height": 740}
BLOCKING_IMPACTS = {"serious", "critical"}


def pytest_collection_modifyitems(config, items):
    """Everything under tests/browser drives Chromium: mark it so `-m "not browser"` skips it."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium (Playwright cannot download its own here), quiet and container-friendly."""
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            *browser_type_launch_args.get("args", []),
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def base_url(live_server):
    """Relative URLs (`page.goto("/login")`) go to the live server."""
    return live_server


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    """A cheap Android phone in Vietnam, pointed at the live server.

    The app's Content-Security-Policy stays ON here: the journeys must work under the real policy
    (no inline script). Only the accessibility check, which has to inject axe-core as a script,
    opens its own context with `bypass_csp=True` (see `check_a11y`).
    """
    return {
        **browser_context_args,
        "base_url": live_server,
        "viewport": VIEWPORT,
        "screen": VIEWPORT,
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
        "locale": "vi-VN",
        "timezone_id": "Asia/Ho_Chi_Minh",
    }


@pytest.fixture(scope="session")
def live_app(databases):
    """The app on its own copy of the demo database."""
    app = create_app({"DATABASE_URL": databases.copy_of_template(), "SECRET_KEY": "browser-tests"})
    yield app
    app.extensions["engine"].dispose()


@pytest.fixture(scope="session")
def live_server(live_app):
    """Serve the app on a free local port in a daemon thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="session")
def read_db(live_app):
    """Run `fn(session)` on the live server's database in a short session of its own.

    Rows come back detached with their columns loaded; no transaction is left open.
    """

    def _read(fn):
        with Session(live_app.extensions["engine"], expire_on_commit=False) as session:
            return fn(session)

    return _read


@pytest.fixture(scope="session")
def user_named(read_db):
    def _user(username: str) -> User:
        return read_db(lambda s: s.exec(select(User).where(User.username == username)).one())

    return _user


@pytest.fixture
def console_errors(page: Page) -> list[str]:
    """Errors the browser reports (CSP violations, failed scripts, 404 assets) while on `page`."""
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def assert_accessible(page: Page, label: str = "") -> None:
    """Run axe-core on `page` as it is now; fail on serious or critical violations.

    `page` must belong to a context created with `bypass_csp=True`: the app's CSP (script-src
    'self', no inline script) would block the inline <script> that `add_script_tag` injects.
    """
    page.add_script_tag(path=str(AXE_JS))
    violations = page.evaluate("async () => (await axe.run()).violations")
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    report = "\n".join(
        f"  [{v['impact']}] {v['id']}: {v['help']}\n"
        + "\n".join(
            f"      at {node['target']}: "
            + node.get("failureSummary", "").replace("\n", "\n        ")
            for node in v["nodes"]
        )
        for v in blocking
    )
    if blocking:
        pytest.fail(f"axe found serious/critical problems on {label or page.url}:\n{report}")


@pytest.fixture
def check_a11y_in_place():
    """`assert_accessible` for a page the test opened in its own `bypass_csp=True` context."""
    return assert_accessible


@pytest.fixture
def check_a11y(page: Page, new_context):
    """Audit what `page` shows now with axe-core, without lifting the CSP from `page` itself.

    Why not `bypass_csp=True` for every test: the journeys must run under the app's real
    Content-Security-Policy, so a template that came to depend on inline script would break them.
    Only the audit needs to inject a script, so it reopens the same URL in a second context with
    `bypass_csp=True` that carries `page`'s cookies (same browser, same user agent, so Flask-Login's
    strong session protection accepts them).
    """
    audit_context = None

    def _check(label: str = "") -> None:
        nonlocal audit_context
        if audit_context is None:
            audit_context = new_context(bypass_csp=True)
        audit_context.clear_cookies()
        audit_context.add_cookies(page.context.cookies())
        audit = audit_context.new_page()
        try:
            audit.goto(page.url)
            assert audit.url == page.url, f"the audit landed on {audit.url}, not {page.url}"
            assert_accessible(audit, label)
        finally:
            audit.close()

    return _check


@pytest.fixture
def no_horizontal_scroll(page: Page):
    """Assert the page fits the 360 px phone: nothing forces a horizontal scroll."""

    def _check() -> None:
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if width > VIEWPORT["width"]:
            culprits = page.evaluate(
                """(limit) => [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > limit + 0.5)
                    .slice(0, 5)
                    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                              + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '')
                              + ' right=' + Math.round(e.getBoundingClientRect().right))""",
                VIEWPORT["width"],
            )
        else:
            culprits = []
        assert width <= VIEWPORT["width"], (
            f"{page.url} is {width}px wide on a {VIEWPORT['width']}px phone; widest: {culprits}"
        )

    return _check
