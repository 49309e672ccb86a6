"""Thin blueprints: parse the request, call a service, render."""

from flask import Flask


def register_blueprints(app: Flask) -> None:
    """Register every feature's blueprint and the error pages."""
    from . import (
        account,
        admin,
        api,
        audit,
        auth,
        calculator,
        dashboard,
        errors,
        home,
        households,
        imports,
        leader,
        prefs,
        pwa,
        rankings,
        summaries,
        targets,
        visits,
        worklist,
    )

    for module in (auth, home, households, prefs, worklist, visits, calculator, summaries, imports):
        app.register_blueprint(module.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(leader.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(pwa.bp)
    app.register_blueprint(rankings.bp)
    app.register_blueprint(targets.bp)
    app.register_blueprint(audit.bp)
    errors.register(app)
