"""Flask's JSON on the modern side: the bytes `jsonify` would write, from the legacy
app's own `app.json` provider (sorted keys, separators, ensure_ascii, dates as HTTP
dates, Decimal, UUID, dataclasses, and any custom provider the app installed).

`FlaskJSONResponse` is a Starlette response class: `response_class=FlaskJSONResponse` on
a route, or `return FlaskJSONResponse(obj)`. It finds the legacy app through the
request's crossing (`Legacy.install`), so one class serves every app.

What FastAPI hands a response class is already JSON-ready: ISO dates, and Decimals as
text with a response model (Pydantic's JSON mode; a `-> Any` return annotation is
one) or as floats with `response_model=None` (`jsonable_encoder`). For Flask's own
date and Decimal text, return the response with the model or the plain values inside:
`return FlaskJSONResponse(user)`; a Pydantic model (also one in a dict or a list) is
dumped in Python mode first, so Flask's provider formats its datetimes, Decimals and
UUIDs.
"""

from __future__ import annotations

from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import Response

from routeshift.compat.crossing import current_crossing

__all__ = ["FlaskJSONResponse", "flask_json_bytes"]


def flask_json_bytes(flask_app: Any, content: Any) -> bytes:
    """What `jsonify(content)` writes in `flask_app` (its provider's `response`)."""
    data: bytes = flask_app.json.response(_dumped(content)).get_data()
    return data


def _dumped(content: Any) -> Any:
    """`content` with every Pydantic model in it, at the top or in dicts, lists and
    tuples, dumped in Python mode (by alias), so the provider formats their values."""
    dump = getattr(content, "model_dump", None)
    if callable(dump) and not isinstance(content, type):
        return dump(mode="python", by_alias=True)
    if isinstance(content, dict):
        return {key: _dumped(value) for key, value in content.items()}
    if isinstance(content, list | tuple):
        return [_dumped(value) for value in content]
    return content


class FlaskJSONResponse(Response):
    """JSON encoded by the legacy app's provider, as `jsonify` writes it."""

    media_type = "application/json"

    def __init__(
        self,
        content: Any = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        media_type: str | None = None,
        background: BackgroundTask | None = None,
    ) -> None:
        self.flask_app = current_crossing().flask_app
        if media_type is None:
            media_type = getattr(self.flask_app.json, "mimetype", self.media_type)
        super().__init__(content, status_code, headers, media_type, background)

    def render(self, content: Any) -> bytes:
        return flask_json_bytes(self.flask_app, content)
