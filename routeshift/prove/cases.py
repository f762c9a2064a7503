"""Contract cases: the requests a route is proven on, from YAML case files.

A case file is `<contracts_dir>/<endpoint>.yaml`:

    cases:
      - id: found                 # unique in the file; the pytest id is <endpoint>::<id>
        method: GET               # default GET
        path: /users/1
        query: {verbose: "1"}     # optional
        headers: {Accept: application/json}   # optional
        session: {user_id: 1}     # optional: the legacy session, signed when the case runs
      - id: bad-age
        method: POST
        path: /users
        json: {name: Ann, email: ann@example.com, age: -1}   # at most one of json, form, body
        ignore: [/id]             # optional, added to the route's own ignore

Files are validated strictly (unknown keys, duplicate ids, two bodies) with file:line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from routeshift._asgi import HTTP_METHODS
from routeshift.compare import check_ignore
from routeshift.errors import CaseFileError, CompareError, FileError, Problem
from routeshift.registry.source import Loc, by_line, line_of, parse_yaml, validation_message

__all__ = [
    "Case",
    "CaseFileModel",
    "CaseModel",
    "case",
    "case_endpoints",
    "case_files",
    "endpoint_of",
    "load_cases",
]

_NO_JSON = object()


class CaseModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    method: str = "GET"
    path: str = Field(pattern=r"^/")
    query: dict[str, str | list[str]] = {}
    headers: dict[str, str] = {}
    session: dict[str, Any] | None = None
    json_body: Any = Field(None, alias="json")
    form: dict[str, str] | None = None
    body: str | None = None
    ignore: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_body(self) -> CaseModel:
        given = [key for key in ("json_body", "form", "body") if key in self.model_fields_set]
        if len(given) > 1:
            names = ", ".join("json" if g == "json_body" else g for g in given)
            raise ValueError(f"a case has at most one body; this one has {names}. Keep one.")
        method = self.method.upper()
        if method not in HTTP_METHODS:
            raise ValueError(f"method {self.method!r} is not an HTTP method.")
        for pointer in self.ignore:
            try:
                check_ignore(pointer)
            except CompareError as exc:
                raise ValueError(f"ignore: {exc}") from None
        return self


class CaseFileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cases: tuple[CaseModel, ...] = ()


@dataclass(frozen=True, slots=True)
class Case:
    """One request to send to both sides, with where it was written."""

    endpoint: str
    id: str
    method: str
    path: str
    query: Mapping[str, str | list[str]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    #: the legacy session the request carries, signed at run time with the legacy app's
    #: own session interface (so a case never holds a cookie that expires)
    session: Mapping[str, Any] | None = None
    json: Any = _NO_JSON
    form: Mapping[str, str] | None = None
    body: str | None = None
    ignore: tuple[str, ...] = ()
    file: str = ""
    line: int = 0

    @property
    def test_id(self) -> str:
        return f"{self.endpoint}::{self.id}"

    @property
    def has_json(self) -> bool:
        return self.json is not _NO_JSON

    @property
    def safe(self) -> bool:
        """GET, HEAD and OPTIONS change nothing: they can be sent twice to find noise."""
        return self.method in ("GET", "HEAD", "OPTIONS")

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "(written in Python)"

    def __repr__(self) -> str:
        return f"Case({self.test_id!r}, {self.method} {self.path})"


def case(
    endpoint: str,
    method: str,
    path: str,
    *,
    id: str | None = None,
    query: Mapping[str, str | list[str]] | None = None,
    headers: Mapping[str, str] | None = None,
    session: Mapping[str, Any] | None = None,
    json: Any = _NO_JSON,
    form: Mapping[str, str] | None = None,
    body: str | None = None,
    ignore: Iterable[str] = (),
) -> Case:
    """A case written in Python (for pytest.mark.parametrize or the `contract` fixture)."""
    bodies = [json is not _NO_JSON, form is not None, body is not None]
    if sum(bodies) > 1:
        raise ValueError("a case has at most one of json, form and body")
    return Case(
        endpoint=endpoint,
        id=id or f"{method.upper()} {path}",
        method=method.upper(),
        path=path,
        query=dict(query or {}),
        headers=dict(headers or {}),
        session=dict(session) if session is not None else None,
        json=json,
        form=dict(form) if form is not None else None,
        body=body,
        ignore=tuple(check_ignore(p) for p in ignore),
    )


def endpoint_of(path: Path) -> str:
    """tests/contracts/users.get_user.yaml -> users.get_user."""
    return path.name.removesuffix(".yaml").removesuffix(".yml")


def load_cases(path: str | Path, endpoint: str | None = None) -> tuple[Case, ...]:
    """The cases of one case file; raises CaseFileError with every problem at file:line."""
    path = Path(path)
    endpoint = endpoint or endpoint_of(path)
    file = str(path)
    try:
        data, marks = parse_yaml(path.read_text(encoding="utf-8"), file)
    except FileError as exc:
        raise CaseFileError(exc.problems) from None
    except OSError as exc:
        raise CaseFileError([Problem(file, 0, f"cannot read the file: {exc}")]) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CaseFileError(
            [Problem(file, line_of(marks, ()), "expected a mapping with `cases:`.")]
        )
    try:
        model = CaseFileModel.model_validate(data)
    except ValidationError as exc:
        problems = [
            Problem(file, line_of(marks, tuple(err["loc"])), validation_message(err, _model_at))
            for err in exc.errors()
        ]
        raise CaseFileError(sorted(problems, key=by_line)) from None
    cases = []
    seen: dict[str, int] = {}
    problems = []
    for index, item in enumerate(model.cases):
        line = line_of(marks, ("cases", index))
        if item.id in seen:
            problems.append(
                Problem(
                    file,
                    line_of(marks, ("cases", index, "id")),
                    f"cases[{index}]: id {item.id!r} is used twice (first at line "
                    f"{seen[item.id]}); ids are unique in a file.",
                )
            )
            continue
        seen[item.id] = line
        cases.append(
            Case(
                endpoint=endpoint,
                id=item.id,
                method=item.method.upper(),
                path=item.path,
                query=item.query,
                headers=item.headers,
                session=item.session,
                json=item.json_body if "json_body" in item.model_fields_set else _NO_JSON,
                form=item.form,
                body=item.body,
                ignore=item.ignore,
                file=file,
                line=line,
            )
        )
    if problems:
        raise CaseFileError(problems)
    return tuple(cases)


def _model_at(loc: Loc) -> type[BaseModel] | None:
    if loc == ():
        return CaseFileModel
    if len(loc) == 2 and loc[0] == "cases":
        return CaseModel
    return None


def case_endpoints(folder: Path) -> set[str]:
    """The endpoints that have a case file in `folder`."""
    return {endpoint_of(path) for path in case_files(folder)}


def case_files(folder: Path) -> list[Path]:
    """The case files in a contracts folder, by name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
