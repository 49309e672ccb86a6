"""Vietnamese error pages for 400, 403, 404, 405 and 500 (JSON answers under /api/)."""

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError

from . import api


def register(app: Flask) -> None:
    """Render errors as pages in the base layout (or a short fragment for htmx, or JSON for the API)."""

    def render(code: int):
        if api.is_api_request():
            return api.json_error(code)
        template = (
            "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
        )
        return render_template(template, code=code), code

    for code in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(code, lambda _e, code=code: render(code))
    app.register_error_handler(
        CSRFError, lambda _e: api.csrf_error() if api.is_api_request() else render(400)
    )
