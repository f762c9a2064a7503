"""A Flask app that uses what real Flask apps use: blueprints, url_prefix, every
werkzeug converter, several methods on one rule, strict slashes, streaming, cookies,
uploads, url_for and errors."""

from __future__ import annotations

import hashlib
import threading

from flask import Blueprint, Flask, Response, jsonify, request, stream_with_context, url_for

#: The streaming view waits on this between its two chunks (set by the test).
stream_gate = threading.Event()
#: /wait blocks on this; `waiting` counts the requests inside the view.
wait_gate = threading.Event()
waiting: list[int] = []


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"

    items = Blueprint("items", __name__, url_prefix="/items")

    @items.route("/<int:item_id>", methods=["GET", "POST"])
    def item(item_id: int) -> Response:
        return jsonify(side="legacy", item_id=item_id, method=request.method)

    @items.route("/")
    def listing() -> Response:
        return jsonify(side="legacy", items=[1, 2])

    app.register_blueprint(items)

    @app.route("/prices/<float:amount>")
    def price(amount: float) -> Response:
        return jsonify(side="legacy", amount=amount)

    @app.route("/files/<path:name>")
    def file(name: str) -> Response:
        return jsonify(side="legacy", name=name)

    @app.route("/pages/<any(about, help):name>")
    def page(name: str) -> Response:
        return jsonify(side="legacy", page=name)

    @app.route("/dirs/")
    def dirs() -> Response:
        return jsonify(side="legacy", dirs=True)

    @app.route("/echo", methods=["POST", "PUT"])
    def echo() -> Response:
        data = request.get_data(cache=True)
        files = {
            name: hashlib.sha256(storage.read()).hexdigest()
            for name, storage in request.files.items()
        }
        return jsonify(
            length=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            content_type=request.content_type,
            form=request.form.to_dict(),
            files=files,
        )

    @app.route("/cookies")
    def cookies() -> Response:
        response = jsonify(cookies=request.cookies.to_dict())
        response.set_cookie("first", "1", httponly=True)
        response.set_cookie("second", "2", path="/items")
        return response

    @app.route("/stream")
    def stream() -> Response:
        def generate():  # type: ignore[no-untyped-def]
            yield b"first;"
            stream_gate.wait(timeout=10)
            yield b"second"

        return Response(stream_with_context(generate()), mimetype="text/plain")

    @app.route("/links")
    def links() -> Response:
        return jsonify(
            relative=url_for("items.item", item_id=3),
            external=url_for("items.item", item_id=3, _external=True),
            static=url_for("static", filename="x.css"),
        )

    @app.route("/wait")
    def wait() -> Response:
        waiting.append(1)
        wait_gate.wait(timeout=10)
        return jsonify(side="legacy", waited=True)

    @app.route("/boom")
    def boom() -> Response:
        raise RuntimeError("legacy boom")

    @app.route("/both", methods=["GET", "DELETE"])
    def both() -> Response:
        return jsonify(side="legacy", method=request.method)

    return app


app = create_app()
