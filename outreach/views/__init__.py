"""Thin blueprints: parse the request, call a service, render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Register every feature's blueprint and the error pages."""
    from . import (
        api,
        auth,
        calculator,
        errors,
        home,
        households,
        imports,
        prefs,
        pwa,
        summaries,
        visits,
        worklist,
    )

    for module in (auth, home, households, prefs, worklist, visits, calculator, summaries, imports):
        app.register_blueprint(module.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pwa.bp)
    errors.register(app)
