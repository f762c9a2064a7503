"""Pydantic models of the ported routes' bodies, faithful to what legacy accepts and writes.

Request models ignore unknown keys (legacy's hand-written validation does) and are strict
about types (legacy checks `isinstance`, so "30" is not an age). Response models are
returned inside routeshift's `FlaskJSONResponse`, so the legacy app's own JSON provider
writes them, datetimes included ("Tue, 02 Jan 2024 03:04:05 GMT").
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    field_validator,
)

from routeshift.compat import LegacyBodyErrors

Role = Literal["user", "admin", "moderator"]
Priority = Literal["low", "normal", "high"]


#: a datetime as Flask's JSON provider writes it, and so documented
FlaskDate = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "description": "RFC 822 date in GMT, as Flask writes a datetime",
            "examples": ["Tue, 02 Jan 2024 03:04:05 GMT"],
        }
    ),
]


class FlaskDates(BaseModel):
    """Base for responses read from the tables: `created_at` as Flask writes it."""

    model_config = ConfigDict(from_attributes=True)

    created_at: FlaskDate


class UserOut(FlaskDates):
    id: int
    name: str
    email: str
    age: int | None
    role: str


class UserPage(BaseModel):
    items: list[UserOut]
    page: int
    per_page: int
    total: int


class CreateUserRequest(BaseModel):
    name: StrictStr
    email: StrictStr
    age: StrictInt | None = Field(default=None, ge=0, le=150)
    role: Role = "user"

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must be a non-empty string")
        return value.strip()

    @field_validator("email")
    @classmethod
    def _email_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("email must be a non-empty string")
        return value.strip().lower()


#: legacy users.create_user's abort(400, ...) texts, in the order it checks the fields
CREATE_USER_ERRORS = LegacyBodyErrors(
    not_json="Request body must be a JSON object",
    fields={
        "name": "name must be a non-empty string",
        "email": "email must be a non-empty string",
        "age": "age must be an integer between 0 and 150",
        "role": "role must be one of user, admin, moderator",
    },
)


class TaskOut(FlaskDates):
    id: str
    command: str
    priority: str
    status: str


class CreateTaskRequest(BaseModel):
    command: StrictStr
    priority: Priority = "normal"

    @field_validator("command")
    @classmethod
    def _command_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("command must be a non-empty string")
        return value.strip()


#: legacy tasks.create_task's abort(400, ...) texts, in the order it checks the fields
CREATE_TASK_ERRORS = LegacyBodyErrors(
    not_json="Request body must be JSON",
    fields={
        "command": "command must be a non-empty string",
        "priority": "priority must be low, normal, or high",
    },
    missing={"command": "Missing required field: command"},
)


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class LoggedOut(BaseModel):
    ok: Literal[True] = True
