"""/tasks: the port of blueprint `tasks`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException

from legacy_flask.models import Task, utcnow
from modern_api.deps import Database
from modern_api.schemas import CREATE_TASK_ERRORS, CreateTaskRequest, TaskOut
from routeshift.compat import FlaskJSONResponse, legacy_body_errors

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.post(
    "",
    response_model=TaskOut,
    response_class=FlaskJSONResponse,
    status_code=201,
)
@legacy_body_errors(CREATE_TASK_ERRORS)
def create_task(body: CreateTaskRequest, database: Database) -> FlaskJSONResponse:
    with database as session:
        task = Task(
            id=str(uuid.uuid4()),
            command=body.command,
            priority=body.priority,
            status="queued",
            created_at=utcnow(),
        )
        session.add(task)
        session.commit()
        return FlaskJSONResponse(TaskOut.model_validate(task), status_code=201)


@router.get("/{task_id}", response_model=TaskOut, response_class=FlaskJSONResponse)
def get_task(task_id: str, database: Database) -> FlaskJSONResponse:
    with database as session:
        task = session.get(Task, task_id)
        if task is None:
            raise HTTPException(404, detail=f"Task {task_id} not found")
        return FlaskJSONResponse(TaskOut.model_validate(task))
