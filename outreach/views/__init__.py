"""Thin blueprints: parse the request, call a service, render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Register every feature's blueprint and the error pages."""
    from . import auth, calculator, errors, home, households, prefs, worklist

    for module in (auth, home, households, prefs, worklist, calculator):
        app.register_blueprint(module.bp)
    errors.register(app)
