"""A Flask app with a rule for every werkzeug converter and two custom ones (one of a
single segment, one that matches across `/`), and its FastAPI port with each handler at
the rule's translation: `{x}`, or `{x:path}` where the converter crosses `/`."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import FastAPI
from flask import Flask
from werkzeug.routing import BaseConverter


class WideConverter(BaseConverter):
    """A custom converter that matches across `/`, as werkzeug's path does."""

    regex = "[^/].*?"
    part_isolating = False


class NarrowConverter(BaseConverter):
    """A custom converter of one path segment."""

    regex = "[a-z]+"


#: endpoint -> (werkzeug rule, the FastAPI path it translates to)
RULES: dict[str, tuple[str, str]] = {
    "plain": ("/plain/<x>", "/plain/{x}"),
    "default": ("/default/<default:x>", "/default/{x}"),
    "string": ("/string/<string(length=2):x>", "/string/{x}"),
    "int": ("/int/<int(signed=True):x>", "/int/{x}"),
    "float": ("/float/<float:x>", "/float/{x}"),
    "uuid": ("/things/<uuid:key>", "/things/{key}"),
    "any": ("/any/<any(a, b):x>", "/any/{x}"),
    "path": ("/path/<path:x>/raw", "/path/{x:path}/raw"),
    "wide": ("/wide/<wide:x>", "/wide/{x:path}"),
    "narrow": ("/narrow/<narrow:x>", "/narrow/{x}"),
}


def registry_routes(state: str = "modern") -> list[dict[str, Any]]:
    """One registry entry (GET) per rule, none with a modern_path."""
    return [
        {"endpoint": endpoint, "rule": rule, "methods": ["GET"], "state": state}
        for endpoint, (rule, _) in RULES.items()
    ]


def create_legacy() -> Flask:
    """The legacy app: each view answers its endpoint and value, as text."""
    app = Flask(__name__)
    app.url_map.converters["wide"] = WideConverter
    app.url_map.converters["narrow"] = NarrowConverter
    for endpoint, (rule, _) in RULES.items():

        def view(endpoint: str = endpoint, **values: Any) -> str:
            """The legacy view of one converter."""
            return f"{endpoint} {' '.join(str(v) for v in values.values())}"

        app.add_url_rule(rule, endpoint, view)
    return app


def create_modern() -> FastAPI:
    """The port: every handler at its rule's translation, typed as a FastAPI user would."""
    app = FastAPI()

    @app.get("/plain/{x}")
    def plain(x: str) -> str:
        return f"plain {x}"

    @app.get("/default/{x}")
    def default(x: str) -> str:
        return f"default {x}"

    @app.get("/string/{x}")
    def string(x: str) -> str:
        return f"string {x}"

    @app.get("/int/{x}")
    def integer(x: int) -> str:
        return f"int {x}"

    @app.get("/float/{x}")
    def real(x: float) -> str:
        return f"float {x}"

    @app.get("/things/{key}")
    def thing(key: uuid.UUID) -> str:
        """A thing by its key."""
        return f"uuid {key}"

    @app.get("/any/{x}")
    def choice(x: Literal["a", "b"]) -> str:
        return f"any {x}"

    @app.get("/path/{x:path}/raw")
    def path(x: str) -> str:
        return f"path {x}"

    @app.get("/wide/{x:path}")
    def wide(x: str) -> str:
        return f"wide {x}"

    @app.get("/narrow/{x}")
    def narrow(x: str) -> str:
        return f"narrow {x}"

    return app
