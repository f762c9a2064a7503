"""/users: the port of blueprint `users`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from legacy_flask.models import MAX_ID, User
from modern_api.compat import (
    FlaskJSONResponse,
    LegacyErrorsRoute,
    legacy_body_errors,
    query_int,
)
from modern_api.deps import SessionDep
from modern_api.schemas import CREATE_USER_ERRORS, CreateUserRequest, UserOut, UserPage

router = APIRouter(prefix="/users", tags=["users"], route_class=LegacyErrorsRoute)

MAX_PER_PAGE = 100


@dataclass(frozen=True, slots=True)
class Pagination:
    page: int
    per_page: int


def pagination(
    request: Request,
    page: Annotated[str | None, Query(description="page number, from 1 (default 1)")] = None,
    per_page: Annotated[str | None, Query(description="items per page (20, at most 100)")] = None,
) -> Pagination:
    """page and per_page parsed as legacy does: an invalid value is the default, not a 422.

    The declared parameters document the query; the values are read like werkzeug's
    `args.get(type=int)` (first value wins).
    """
    result = Pagination(
        page=query_int(request, "page", 1),
        per_page=min(query_int(request, "per_page", 20), MAX_PER_PAGE),
    )
    if result.page < 1 or result.per_page < 1:
        raise HTTPException(400, detail="page and per_page must be positive integers")
    return result


@router.get("", response_model=UserPage, response_class=FlaskJSONResponse)
def list_users(session: SessionDep, paging: Annotated[Pagination, Depends(pagination)]) -> UserPage:
    total = session.scalar(select(func.count()).select_from(User)) or 0
    users = session.scalars(
        select(User)
        .order_by(User.id)
        .offset((paging.page - 1) * paging.per_page)
        .limit(paging.per_page)
    ).all()
    return UserPage(
        items=[UserOut.model_validate(user) for user in users],
        page=paging.page,
        per_page=paging.per_page,
        total=total,
    )


@router.get("/{user_id}", response_model=UserOut, response_class=FlaskJSONResponse)
def get_user(user_id: int, session: SessionDep) -> UserOut:
    user = session.get(User, user_id) if user_id <= MAX_ID else None
    if user is None:
        raise HTTPException(404, detail=f"User {user_id} not found")
    return UserOut.model_validate(user)


@router.post("", response_model=UserOut, response_class=FlaskJSONResponse, status_code=201)
@legacy_body_errors(CREATE_USER_ERRORS)
def create_user(body: CreateUserRequest, session: SessionDep) -> UserOut:
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
