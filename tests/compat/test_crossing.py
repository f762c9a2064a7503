"""The crossing's plumbing: the request body teed for Flask after FastAPI parsed it (JSON,
a form, a multipart upload read as `request.files`), the body limit (its CrossingError
and what the client sees), the request's path (unicode, a root path) as Flask sees it,
and a Flask response carried over whole by `to_starlette` (streamed, a file, its
Content-Length and its close)."""

import io
import re
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from answers import Answer, FlaskClient
from compat_client import PortClient
from fastapi import Body, Depends, FastAPI, File, Form, HTTPException, UploadFile
from flask import Flask, Response, abort, jsonify, request, send_file, url_for
from pydantic import BaseModel

from routeshift.compat import FlaskJSONResponse, Legacy, LegacyBodyErrors, LegacyContext
from routeshift.compat import legacy_body_errors as body_errors
from routeshift.compat.context import to_starlette
from routeshift.errors import CrossingError

LIMIT = 1000
BIG = 256 * 1024 + 17  # more than one chunk of every stream on the way
PAGE_404 = b"<h1>lost</h1>" * 40


class Note(BaseModel):
    text: str


def make_flask() -> Flask:
    app = Flask("crossing")
    app.config.update(SECRET_KEY="crossing-secret")
    closed: list[str] = []
    app.extensions["closed"] = closed

    @app.before_request
    def stream_on_demand() -> Any:
        if request.headers.get("X-Stream"):

            def generate() -> Iterator[bytes]:
                for start in range(0, BIG, 4096):
                    yield b"x" * min(4096, BIG - start)

            streamed = Response(generate(), mimetype="application/octet-stream")
            streamed.call_on_close(lambda: closed.append("stream"))
            return streamed
        if request.headers.get("X-File"):
            return send_file(io.BytesIO(b"f" * BIG), mimetype="application/pdf")
        return None

    @app.errorhandler(404)
    def not_found(exc: Exception) -> Any:
        return send_file(io.BytesIO(PAGE_404), mimetype="text/html"), 404

    @app.get("/wörter/<word>")
    def word(word: str) -> Any:
        return jsonify(
            word=word,
            path=request.path,
            url=request.url,
            script_root=request.script_root,
            built=url_for("word", word=word),
            external=url_for("word", word=word, _external=True),
        )

    @app.get("/streamed")
    def streamed() -> Any:
        return "not streamed"

    @app.post("/notes")
    def notes() -> Any:
        data = request.get_json(silent=True)
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            abort(400, description="Send a note.")
        return jsonify(data)

    return app


def make_port(flask_app: Flask, *, body_limit: int = LIMIT) -> FastAPI:
    legacy = Legacy(flask_app, body_limit=body_limit)
    app = FastAPI()
    legacy.install(app)
    Context = Annotated[LegacyContext, Depends(legacy.context)]

    @app.post("/json")
    def json_body(ctx: Context, payload: Annotated[dict[str, Any], Body()]) -> Any:
        with ctx:
            return {
                "parsed": payload,
                "flask": request.get_json(),
                "type": request.content_type,
                "length": request.content_length,
            }

    @app.post("/form")
    def form_body(ctx: Context, name: Annotated[str, Form()]) -> Any:
        with ctx:
            return {"parsed": name, "flask": request.form.to_dict()}

    @app.post("/upload")
    async def upload(
        ctx: Context, upload: Annotated[UploadFile, File()], note: Annotated[str, Form()]
    ) -> Any:
        parsed = await upload.read()

        def read() -> dict[str, Any]:
            stored = request.files["upload"]
            return {
                "same": stored.read() == parsed,
                "filename": stored.filename,
                "mimetype": stored.mimetype,
                "size": len(parsed),
                "note": request.form["note"],
            }

        return await ctx.run(read)

    @app.post("/raw")
    def raw(ctx: Context) -> Any:
        with ctx:
            return {"length": len(request.get_data()), "type": request.content_type}

    @app.get("/wörter/{word}")
    def word(ctx: Context, word: str) -> Any:
        with ctx:
            return FlaskJSONResponse(
                {
                    "word": word,
                    "path": request.path,
                    "url": request.url,
                    "script_root": request.script_root,
                    "built": url_for("word", word=word),
                    "external": url_for("word", word=word, _external=True),
                }
            )

    @app.get("/streamed")
    def streamed(ctx: Context) -> Any:
        with ctx:
            return "not streamed"

    @app.get("/missing")
    def missing() -> Any:
        raise HTTPException(404)

    @app.post("/notes")
    @body_errors(LegacyBodyErrors(not_json="Send a note.", fields={"text": "Send a note."}))
    def notes(note: Note) -> Any:
        return FlaskJSONResponse(note)

    return app


@pytest.fixture
def flask_app() -> Flask:
    return make_flask()


@pytest.fixture
def port(flask_app: Flask) -> PortClient:
    return PortClient(make_port(flask_app, body_limit=2 * BIG))


# --- the teed body -------------------------------------------------------------------


def test_a_json_body_fastapi_parsed_is_flask_s_request_json(port: PortClient) -> None:
    payload = {"name": "Zoë", "tags": ["中文", "🎉"], "n": 1}
    answer = port.post("/json", json=payload)
    assert answer.json() == {
        "parsed": payload,
        "flask": payload,
        "type": "application/json",
        "length": len(answer.request.content),
    }


def test_a_form_fastapi_parsed_is_flask_s_request_form(port: PortClient) -> None:
    answer = port.post("/form", data={"name": "grüß dich", "extra": "a&b=c"})
    assert answer.json() == {
        "parsed": "grüß dich",
        "flask": {"name": "grüß dich", "extra": "a&b=c"},
    }


def test_a_multipart_upload_is_flask_s_request_files(port: PortClient) -> None:
    content = bytes(range(256)) * (BIG // 256)
    answer = port.post(
        "/upload",
        files={"upload": ("rapport é.pdf", content, "application/pdf")},
        data={"note": "für dich"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "same": True,
        "filename": "rapport é.pdf",
        "mimetype": "application/pdf",
        "size": len(content),
        "note": "für dich",
    }


def test_a_body_fastapi_did_not_read_is_read_for_flask(port: PortClient) -> None:
    answer = port.post("/raw", content=b"z" * 5000, headers={"Content-Type": "text/plain"})
    assert answer.json() == {"length": 5000, "type": "text/plain"}


# --- the body limit --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        pytest.param("/json", {"json": {"text": "x" * LIMIT}}, id="parsed-json"),
        pytest.param("/form", {"data": {"name": "x" * LIMIT}}, id="parsed-form"),
        pytest.param("/raw", {"content": b"x" * (LIMIT + 1)}, id="not-parsed"),
    ],
)
def test_a_body_over_the_limit_is_a_crossing_error_naming_the_limit(
    flask_app: Flask, path: str, kwargs: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    port = make_port(flask_app, body_limit=LIMIT)
    with caplog.at_level("ERROR"):
        answer = PortClient(port).post(path, **kwargs)
    # the client sees the legacy app's 500 (werkzeug's page: the app has no handler),
    # and the legacy app logged the CrossingError that says what to do
    assert answer.status_code == 500
    assert b"Internal Server Error" in answer.content
    (logged,) = [r for r in caplog.records if r.exc_info and r.exc_info[0] is CrossingError]
    assert re.search(r"larger than the 1,000 bytes .*body_limit=N", str(logged.exc_info[1]))


def test_a_body_at_the_limit_is_kept(flask_app: Flask) -> None:
    port = PortClient(make_port(flask_app, body_limit=LIMIT))
    answer = port.post("/raw", content=b"x" * LIMIT)
    assert answer.json()["length"] == LIMIT


def test_an_error_page_for_a_body_over_the_limit_is_still_the_legacy_one(
    flask_app: Flask,
) -> None:
    """The envelope renders the validation error without the body it could not keep."""
    port = PortClient(make_port(flask_app, body_limit=LIMIT))
    body = {"text": 1, "padding": "x" * LIMIT}
    answer = Answer.of(port.post("/notes", json=body))
    expected = FlaskClient(flask_app).post("/notes", json=body)
    assert (answer.status, answer.body) == (expected.status, expected.body)
    assert answer.status == 400 and b"Send a note." in answer.body


# --- the request's path ---------------------------------------------------------------


@pytest.mark.parametrize("root_path", ["", "/shop"])
@pytest.mark.parametrize("word", ["grüße", "中文", "🎉", "a b"])
def test_a_unicode_path_is_the_one_flask_sees(flask_app: Flask, root_path: str, word: str) -> None:
    port = PortClient(make_port(flask_app), root_path=root_path)
    answer = Answer.of(port.get(f"{root_path}/wörter/{word}"))
    expected = FlaskClient(flask_app, script_name=root_path).get(f"/wörter/{word}")
    assert answer.status == expected.status == 200
    assert answer.body == expected.body


# --- to_starlette ---------------------------------------------------------------------


def test_a_streamed_flask_answer_arrives_whole_with_its_content_length(
    flask_app: Flask, port: PortClient
) -> None:
    answer = port.get("/streamed", headers={"X-Stream": "1"})
    # closed as a WSGI server closes it: its call_on_close ran
    assert flask_app.extensions["closed"] == ["stream"]
    expected = FlaskClient(flask_app).get("/streamed", headers={"X-Stream": "1"})
    assert answer.status_code == 200
    assert answer.content == expected.body == b"x" * BIG
    assert answer.headers["content-length"] == str(BIG)
    assert answer.headers["content-type"] == "application/octet-stream"


def test_a_file_flask_sends_arrives_whole(flask_app: Flask, port: PortClient) -> None:
    answer = Answer.of(port.get("/streamed", headers={"X-File": "1"}))
    expected = FlaskClient(flask_app).get("/streamed", headers={"X-File": "1"})
    assert answer.status == expected.status == 200
    assert answer.body == expected.body
    assert answer.header("content-length") == expected.header("content-length") == str(BIG)


def test_an_error_handler_that_sends_a_file_is_carried_over(
    flask_app: Flask, port: PortClient
) -> None:
    answer = Answer.of(port.get("/missing"))
    expected = FlaskClient(flask_app).get("/missing")
    assert (answer.status, answer.body) == (expected.status, expected.body) == (404, PAGE_404)
    assert answer.header("content-type") == "text/html; charset=utf-8"


def test_to_starlette_drops_a_content_length_the_body_does_not_have() -> None:
    flask_response = Response(b"four")
    flask_response.headers["Content-Length"] = "99"
    flask_response.headers.add("X-Twice", "1")
    flask_response.headers.add("X-Twice", "2")
    response = to_starlette(flask_response)
    assert response.body == b"four"
    assert response.headers.getlist("content-length") == ["4"]
    assert response.headers.getlist("x-twice") == ["1", "2"]
