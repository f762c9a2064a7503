"""/users: the port of blueprint `users`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import bindparam, func, insert, select, true
from sqlalchemy.exc import IntegrityError

from legacy_flask.models import MAX_ID, User, utcnow
from modern_api.deps import Database
from modern_api.schemas import CREATE_USER_ERRORS, CreateUserRequest, UserOut, UserPage
from routeshift.compat import FlaskJSONResponse, RequestQueries, legacy_body_errors, query_arg

router = APIRouter(prefix="/users", tags=["users"])

MAX_PER_PAGE = 100

#: `request.args.get("page", 1, type=int)`: the first value; 1 when missing or not a number
Page = Annotated[int, Depends(query_arg("page", 1, type=int, description="page number, from 1"))]
#: `request.args.get("per_page", 20, type=int)`, capped at MAX_PER_PAGE by the view
PerPage = Annotated[
    int, Depends(query_arg("per_page", 20, type=int, description="items per page, at most 100"))
]


@dataclass(frozen=True, slots=True)
class Pagination:
    page: int
    per_page: int


async def pagination(page: Page, per_page: PerPage) -> Pagination:
    """page and per_page read as legacy reads them (`request.args.get(type=int)`): an
    invalid value is the default, not a 422. Async: no I/O, so no thread hop."""
    result = Pagination(page=page, per_page=min(per_page, MAX_PER_PAGE))
    if result.page < 1 or result.per_page < 1:
        raise HTTPException(400, detail="page and per_page must be positive integers")
    return result


#: the statements, SQLAlchemy Core on legacy's table, built once (compiled once, cached)
USERS = User.__table__
USER_BY_ID = select(USERS).where(USERS.c.id == bindparam("user_id"))
_COUNTED = select(func.count().label("total")).select_from(USERS).subquery("counted")
_PAGE = (
    select(USERS).order_by(USERS.c.id).offset(bindparam("offset")).limit(bindparam("limit"))
).subquery("page")
#: one page of the users and the count of them all in one statement (one round trip, one
#: snapshot): the count's single row joined with the page's rows, NULLs past the last page
USER_PAGE = (
    select(_COUNTED.c.total, _PAGE)
    .select_from(_COUNTED.outerjoin(_PAGE, true()))
    .order_by(_PAGE.c.id)
)
NEW_USER = ("name", "email", "age", "role", "created_at")
INSERT_USER = insert(User).values({name: bindparam(name) for name in NEW_USER}).returning(*USERS.c)


async def user_by_id(database: RequestQueries, user_id: int) -> UserOut | None:
    """The user of that id as the response model, None when there is none."""
    if user_id > MAX_ID:
        return None
    row = await database.fetch_one(USER_BY_ID, user_id=user_id)
    return None if row is None else UserOut.model_validate(row)


@router.get("", response_model=UserPage, response_class=FlaskJSONResponse)
async def list_users(
    database: Database, paging: Annotated[Pagination, Depends(pagination)]
) -> FlaskJSONResponse:
    offset = (paging.page - 1) * paging.per_page
    rows = await database.fetch_all(USER_PAGE, offset=offset, limit=paging.per_page)
    page = UserPage(
        items=[UserOut.model_validate(row) for row in rows if row["id"] is not None],
        page=paging.page,
        per_page=paging.per_page,
        total=rows[0]["total"],
    )
    return FlaskJSONResponse(page)


@router.get("/{user_id}", response_model=UserOut, response_class=FlaskJSONResponse)
async def get_user(user_id: int, database: Database) -> FlaskJSONResponse:
    user = await user_by_id(database, user_id)
    if user is None:
        raise HTTPException(404, detail=f"User {user_id} not found")
    return FlaskJSONResponse(user)


@router.post(
    "",
    response_model=UserOut,
    response_class=FlaskJSONResponse,
    status_code=201,
)
@legacy_body_errors(CREATE_USER_ERRORS)
async def create_user(body: CreateUserRequest, database: Database) -> FlaskJSONResponse:
    """The new user, committed; a 409 when the email is taken (by the unique index, so a
    create that races this one is a 409 too)."""
    values = body.model_dump(include={"name", "email", "age", "role"})
    try:
        row = await database.fetch_one(INSERT_USER, **values, created_at=utcnow())
    except IntegrityError:
        raise HTTPException(409, detail=f"A user with email {body.email} already exists") from None
    return FlaskJSONResponse(UserOut.model_validate(row), status_code=201)
