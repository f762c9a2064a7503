"""/users: the port of blueprint `users`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from legacy_flask.models import MAX_ID, User
from modern_api.deps import Database
from modern_api.schemas import CREATE_USER_ERRORS, CreateUserRequest, UserOut, UserPage
from routeshift.compat import FlaskJSONResponse, legacy_body_errors, query_arg

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


#: the reads, SQLAlchemy Core on legacy's table, built once (compiled once, cached)
USERS = User.__table__
USER_BY_ID = select(USERS).where(USERS.c.id == bindparam("user_id"))
USER_COUNT = select(func.count()).select_from(USERS)
USER_PAGE = select(USERS).order_by(USERS.c.id).offset(bindparam("offset")).limit(bindparam("limit"))


def user_by_id(connection: Connection, user_id: int) -> UserOut | None:
    """The user of that id as the response model, None when there is none."""
    row = connection.execute(USER_BY_ID, {"user_id": user_id}).first()
    return None if row is None else UserOut.model_validate(row)


def user_page(connection: Connection, paging: Pagination) -> UserPage:
    """One page of the users, by id, with the count of them all."""
    offset = (paging.page - 1) * paging.per_page
    rows = connection.execute(USER_PAGE, {"offset": offset, "limit": paging.per_page})
    return UserPage(
        items=[UserOut.model_validate(row) for row in rows],
        page=paging.page,
        per_page=paging.per_page,
        total=connection.scalar(USER_COUNT) or 0,
    )


@router.get("", response_model=UserPage, response_class=FlaskJSONResponse)
async def list_users(
    database: Database, paging: Annotated[Pagination, Depends(pagination)]
) -> FlaskJSONResponse:
    return FlaskJSONResponse(await database.read(user_page, paging))


@router.get("/{user_id}", response_model=UserOut, response_class=FlaskJSONResponse)
async def get_user(user_id: int, database: Database) -> FlaskJSONResponse:
    user = await database.read(user_by_id, user_id) if user_id <= MAX_ID else None
    if user is None:
        raise HTTPException(404, detail=f"User {user_id} not found")
    return FlaskJSONResponse(user)


def add_user(session: Session, body: CreateUserRequest) -> UserOut:
    """The new user, committed; a 409 when the email is taken (checked, then by the
    unique index, for a create that raced this one)."""
    conflict = HTTPException(409, detail=f"A user with email {body.email} already exists")
    if session.scalar(select(User).filter_by(email=body.email)) is not None:
        raise conflict
    user = User(name=body.name, email=body.email, age=body.age, role=body.role)
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise conflict from None
    return UserOut.model_validate(user)


@router.post(
    "",
    response_model=UserOut,
    response_class=FlaskJSONResponse,
    status_code=201,
)
@legacy_body_errors(CREATE_USER_ERRORS)
async def create_user(body: CreateUserRequest, database: Database) -> FlaskJSONResponse:
    return FlaskJSONResponse(await database.write(add_user, body), status_code=201)
