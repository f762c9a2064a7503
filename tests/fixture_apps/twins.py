"""A Flask app and its FastAPI twin for live verification: the twin's behaviour on
/things/<id> is switched by the test (`MODE`), and writes are recorded per side."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from flask import Flask, jsonify
from flask import request as flask_request

#: how the modern /things/<id> answers: same, differ, raise, hang, garbage
MODE: dict[str, str] = {"things": "same"}
#: a hanging modern handler waits on this (at most HANG_SECONDS)
HANG = threading.Event()
HANG_SECONDS = 10.0
#: names written by POST /things, per side
WRITES: dict[str, list[str]] = {"legacy": [], "modern": []}
#: seconds the modern /things/<id> takes (TWINS_THINGS_DELAY, for a server in a subprocess)
DELAY = float(os.environ.get("TWINS_THINGS_DELAY", "0"))


def reset() -> None:
    MODE["things"] = "same"
    HANG.clear()
    for names in WRITES.values():
        names.clear()


def thing(thing_id: int) -> dict[str, Any]:
    return {"id": thing_id, "name": "lamp", "token": f"tok-{thing_id}", "tags": ["a", "b"]}


def create_legacy() -> Flask:
    app = Flask(__name__)

    @app.route("/things/<int:thing_id>")
    def get_thing(thing_id: int) -> Any:
        return jsonify(thing(thing_id))

    @app.route("/things", methods=["POST"])
    def create_thing() -> Any:
        name = (flask_request.get_json(silent=True) or {}).get("name", "")
        WRITES["legacy"].append(name)
        return jsonify(id=len(WRITES["legacy"]), name=name), 201

    @app.route("/people/<int:person_id>", methods=["GET", "POST"])
    def person(person_id: int) -> Any:
        return jsonify(id=person_id, side="legacy", pid=os.getpid())

    return app


def create_modern() -> FastAPI:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def get_thing(thing_id: int) -> Any:
        if DELAY:
            await asyncio.sleep(DELAY)
        mode = MODE["things"]
        if mode == "differ":
            return {**thing(thing_id), "name": "bulb", "token": "tok-other"}
        if mode == "raise":
            raise RuntimeError("the port is broken")
        if mode == "hang":  # in a thread, as a blocked sync handler would be
            await anyio.to_thread.run_sync(HANG.wait, HANG_SECONDS)
        if mode == "garbage":
            return Response(b"\x00\xffnot json", media_type="application/json")
        return thing(thing_id)

    @app.post("/things", status_code=201)
    async def create_thing(request: Request) -> Any:
        name = (await request.json()).get("name", "")
        if request.scope.get("state", {}).get("routeshift_shadow"):
            # what a port does under shadow: the write happens in a rolled-back transaction
            return {"id": len(WRITES["legacy"]), "name": name}
        WRITES["modern"].append(name)
        return {"id": len(WRITES["modern"]), "name": name}

    @app.get("/people/{person_id}")
    def get_person(person_id: int) -> Any:
        return JSONResponse({"id": person_id, "side": "modern", "pid": os.getpid()})

    @app.post("/people/{person_id}")
    def post_person(person_id: int) -> Any:
        return JSONResponse({"id": person_id, "side": "modern", "pid": os.getpid()})

    return app
