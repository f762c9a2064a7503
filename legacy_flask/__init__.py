"""The legacy Flask app: an application factory and the module-level `app`.

`flask --app legacy_flask run`, `gunicorn legacy_flask:app`, or through the gateway.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from legacy_flask import db
from legacy_flask.views import auth, main, tasks, users

DEFAULT_SECRET_KEY = "dev-secret-key-change-me"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. `config` overrides; `DATABASE_URL: None` means the environment's."""
    app = Flask(__name__)
    app.config.from_mapping(
        SECRET_KEY=os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY),
        DATABASE_URL=None,
    )
    if config:
        app.config.update(config)

    db.init_app(app)
    app.register_blueprint(main.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(users.bp, url_prefix="/users")
    app.register_blueprint(tasks.bp, url_prefix="/tasks")
    return app


app = create_app()
