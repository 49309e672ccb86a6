"""outreach: field outreach for voluntary social-insurance enrollment campaigns."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Application factory: settings, database, extensions, blueprints, CLI."""
    # Imported here, not with the package: the import's parsing child (a plain
    # `python -m outreach.imports.reading.worker`) then starts without Flask (~0.8 s sooner).
    from flask import Flask

    from outreach import config as config_module
    from outreach.db import init_app as init_db
    from outreach.web.compression import init_app as init_compression
    from outreach.web.extensions import init_extensions

    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=str(config_module.INSTANCE_DIR),
    )
    app.config.from_mapping(config_module.from_environment())
    if config:
        app.config.update(config)
    config_module.check(app.config)  # a missing key or per-process throttle: refuse, say why
    if proxies := app.config.get("PROXY_FIX", 0):
        # Behind N reverse proxies the client is the Nth address from the right of
        # X-Forwarded-For; audit entries and the login throttle then see it, not the proxy.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

    init_db(app)
    init_jobs(app)
    init_extensions(app)
    _translate_service_messages()
    init_compression(app)

    from outreach.web.guards import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is added
    register_blueprints(app)

    from outreach.cli import register_commands

    register_commands(app)
    return app


def init_jobs(app: Flask) -> None:
    """The job queue and its jobs: web requests queue them, `outreach worker` runs them."""
    from outreach import config as config_module
    from outreach.core.queue import make_queue
    from outreach.jobs import make_jobs

    huey = make_queue(
        app.config["DATABASE_URL"],
        app.config["OUTREACH_QUEUE_URL"],
        fallback_dir=config_module.INSTANCE_DIR,
    )
    app.extensions["jobs"] = make_jobs(
        huey, engine=app.extensions["job_engine"], settings=app.config
    )


def _translate_service_messages() -> None:
    """Services mark messages with core.i18n; within a request they are read in its language."""
    from flask import has_request_context
    from flask_babel import gettext

    from outreach.core import i18n

    i18n.install(lambda message: gettext(message) if has_request_context() else message)


def register_blueprints(app: Flask) -> None:
    """Register every feature's blueprints and the error pages."""
    from outreach.accounts import views as accounts
    from outreach.audit import views as audit
    from outreach.calculator import views as calculator
    from outreach.campaigns import views as campaigns
    from outreach.corrections import views as corrections
    from outreach.dashboard import views as dashboard
    from outreach.exports import views as exports
    from outreach.geography import views as geography
    from outreach.home import views as home
    from outreach.households import views as households
    from outreach.imports import views as imports
    from outreach.leaders import views as leaders
    from outreach.rankings import views as rankings
    from outreach.summaries import views as summaries
    from outreach.teams import views as teams
    from outreach.visits import api
    from outreach.visits import views as visits
    from outreach.web import admin, errors
    from outreach.worklist import views as worklist

    del geography  # its routes are on the admin blueprint, with the users' and campaigns'
    for blueprint in (
        accounts.auth_bp,
        home.bp,
        households.bp,
        accounts.prefs_bp,
        worklist.bp,
        visits.visits_bp,
        calculator.bp,
        summaries.bp,
        imports.bp,
        dashboard.bp,
        api.bp,
        leaders.bp,
        accounts.account_bp,
        admin.admin_bp,
        visits.pwa_bp,
        rankings.bp,
        campaigns.bp,
        audit.bp,
        teams.bp,
        corrections.bp,
        exports.bp,
    ):
        app.register_blueprint(blueprint)
    errors.register(app, api=api)
