"""Personal preferences: the interface language."""

from flask import Blueprint, current_app, redirect, request, session, url_for

bp = Blueprint("prefs", __name__)


@bp.post("/language")
def set_language():
    """Switch between Vietnamese and English; stays on the same page."""
    lang = request.form.get("lang", "vi")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    target = request.form.get("next") or ""
    # Only local paths: never an open redirect.
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("home.index")
    return redirect(target)
