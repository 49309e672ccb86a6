"""The worklist's first load stays light over the wire: at most 60 KB of HTML, CSS and JS (issue 5).

"First load" is a phone that has never seen the app: a fresh browser context (empty HTTP cache)
with service workers blocked, so nothing can come from a cache. The login happens in another
context, whose session cookie is handed over, so the login page's CSS and JS do not warm the cache.
"""

from __future__ import annotations

from playwright.sync_api import Request

from tests.browser.test_login_journeys import CANVASSER, log_in

BUDGET = 60 * 1024  # bytes on the wire: compressed bodies plus response headers
COUNTED = ("document", "stylesheet", "script")
MIN_COMPRESSED = 500  # outreach/web/compression.py leaves smaller bodies as they are


def _first_load(new_context, path: str) -> list[Request]:
    """Every finished request of loading `path` as a logged-in canvasser on a phone with no cache."""
    login_context = new_context(service_workers="block")
    log_in(login_context.new_page(), CANVASSER)
    context = new_context(service_workers="block")
    context.add_cookies(login_context.cookies())
    page = context.new_page()
    finished: list[Request] = []
    page.on("requestfinished", lambda request: finished.append(request))
    response = page.goto(path, wait_until="networkidle")
    assert response is not None and response.status == 200 and page.url.endswith(path), page.url
    return finished


def test_worklist_first_load_is_at_most_60_kb_compressed(new_context):
    requests = _first_load(new_context, "/worklist")
    rows = []
    uncompressed = []
    for request in requests:
        if request.resource_type not in COUNTED:
            continue
        response = request.response()
        assert response is not None, request.url
        sizes = request.sizes()
        body = len(response.body())
        encoding = response.all_headers().get("content-encoding", "")
        rows.append(
            (
                request.resource_type,
                request.url.split("/", 3)[-1],
                sizes["responseBodySize"],
                sizes["responseHeadersSize"],
                body,
                encoding,
            )
        )
        if body >= MIN_COMPRESSED and encoding != "gzip":
            uncompressed.append(request.url)

    rows.sort()
    total = sum(wire + headers for _, _, wire, headers, _, _ in rows)
    print(f"\nWorklist first load over the wire (budget {BUDGET:,} bytes):")
    print(f"  {'type':<10} {'resource':<40} {'body':>7} {'headers':>7} {'decoded':>8}  encoding")
    for kind, url, wire, headers, body, encoding in rows:
        print(f"  {kind:<10} /{url:<39} {wire:>7,} {headers:>7,} {body:>8,}  {encoding or '-'}")
    print(f"  {'total':<51} {total:>7,} bytes ({total / 1024:.1f} KB)")

    kinds = {kind for kind, *_ in rows}
    assert {"document", "stylesheet", "script"} <= kinds, f"missing resources: {rows}"
    assert not uncompressed, f"sent without gzip: {uncompressed}"
    assert total <= BUDGET, f"the worklist's first load is {total:,} bytes, over {BUDGET:,}"
