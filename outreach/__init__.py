"""outreach: field outreach for voluntary social-insurance enrollment campaigns."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Application factory: settings, database, extensions, blueprints, CLI."""
    # Imported here, not with the package: the import's parsing child (a plain
    # `python -m outreach.services.imports.worker`) then starts without Flask (~0.8 s sooner).
    from flask import Flask

    from . import config as config_module
    from .compression import init_app as init_compression
    from .db import init_app as init_db
    from .extensions import init_extensions

    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=str(config_module.INSTANCE_DIR),
    )
    app.config.from_mapping(config_module.from_environment())
    if config:
        app.config.update(config)

    init_db(app)
    init_extensions(app)
    init_compression(app)

    from .views import register_blueprints
    from .views.guards import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is added
    register_blueprints(app)

    from .cli import register_commands

    register_commands(app)
    return app
