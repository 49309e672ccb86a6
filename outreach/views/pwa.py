"""The installable app: manifest, service worker, offline page, outbox page and offline download."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ..db import get_session
from ..models.codes import Role
from ..services.worklist import worklist_for
from .guards import current_scope, roles_required
from .guards import today as request_today

bp = Blueprint("pwa", __name__)

# What the service worker keeps from its install on: the look of every page and the offline page.
SHELL_FILES = (
    "css/app.css",
    "js/app.js",
    "js/outbox.js",
    "js/offline.js",
    "js/visit.js",
    "vendor/htmx-2.0.11.min.js",
    "icons/favicon.svg",
    "icons/icon-192.png",
)
OFFLINE_HOUSEHOLDS = 500  # DESIGN §10: up to 500 households of the canvasser's scope
PAGE = 30  # the worklist's page size (views/worklist.py)


@lru_cache(maxsize=4)
def _service_worker(static_folder: str) -> tuple[str, str]:
    """The worker's script, versioned by the shell's content so a new release replaces the cache."""
    folder = Path(static_folder)
    digest = hashlib.sha256()
    for name in SHELL_FILES + ("js/sw.js",):
        digest.update((folder / name).read_bytes())
    version = digest.hexdigest()[:12]
    shell = [f"/static/{name}" for name in SHELL_FILES] + ["/offline", "/manifest.webmanifest"]
    source = (folder / "js" / "sw.js").read_text(encoding="utf-8")
    return source.replace("{{VERSION}}", version).replace(
        "{{SHELL_URLS}}", json.dumps(shell)
    ), version


@bp.get("/sw.js")
def service_worker():
    """The service worker, at the root so that it controls every page."""
    source, _version = _service_worker(current_app.static_folder)
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # the browser checks for a new one each load
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """What the phone needs to install the app on its home screen."""
    icons = [
        ("icons/icon-192.png", "192x192", "any"),
        ("icons/icon-512.png", "512x512", "any"),
        ("icons/maskable-512.png", "512x512", "maskable"),
    ]
    data = {
        "name": _("Vận động BHXH tự nguyện"),
        "short_name": _("Vận động BHXH"),
        "description": _("Danh sách hộ cần thăm, ghi lượt thăm cả khi mất sóng."),
        "lang": "vi",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f5f7fa",
        "theme_color": "#0b5394",
        "icons": [
            {
                "src": url_for("static", filename=src),
                "sizes": sizes,
                "type": "image/png",
                "purpose": p,
            }
            for src, sizes, p in icons
        ],
    }
    return Response(json.dumps(data, ensure_ascii=False), mimetype="application/manifest+json")


@bp.get("/offline")
def offline():
    """Shown for a page that was never saved on the phone while there is no signal."""
    return render_template("pwa/offline.html")


@bp.get("/outbox")
def outbox():
    """The visits still on this phone (read from the browser's storage by outbox.js)."""
    return render_template("pwa/outbox.html")


@bp.get("/session.json")
def session_info():
    """Who is logged in and a fresh CSRF token, for the outbox before it sends (401 if nobody)."""
    if not current_user.is_authenticated:
        return jsonify(error=_("Chưa đăng nhập.")), 401
    response = jsonify(user_id=current_user.id, csrf_token=generate_csrf())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/offline/pages.json")
@roles_required(Role.CANVASSER)
def offline_pages():
    """The pages to save for a day without signal: the list, its households and their forms."""
    worklist = worklist_for(
        get_session(),
        scope=current_scope(),
        canvasser_id=current_user.id,
        today=request_today(),
        limit=OFFLINE_HOUSEHOLDS,
    )
    ids = [row.household.id for row in worklist.rows]
    pages = [url_for("home.index"), url_for("worklist.show"), url_for("pwa.outbox")]
    for household_id in ids:
        pages.append(url_for("households.show", household_id=household_id))
        pages.append(url_for("visits.new", household_id=household_id))
    # The list's further pages, as htmx asks for them when the canvasser scrolls.
    fragments = [url_for("worklist.show", offset=offset) for offset in range(PAGE, len(ids), PAGE)]
    response = jsonify(pages=pages, fragments=fragments, households=len(ids))
    response.headers["Cache-Control"] = "no-store"
    return response
