"""Vietnamese error pages for 400, 403, 404, 405 and 500."""

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError


def register(app: Flask) -> None:
    """Render errors as pages in the base layout (or a short fragment for htmx)."""

    def render(code: int):
        template = (
            "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
        )
        return render_template(template, code=code), code

    for code in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(code, lambda _e, code=code: render(code))
    app.register_error_handler(CSRFError, lambda _e: render(400))
