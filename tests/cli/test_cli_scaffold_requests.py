"""routeshift scaffold's requests to legacy: headers (--header), the contracts' state hook
(their conftest.py), the case file written from the rule's example path, a true --help."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from conftest import write_registry

from routeshift.cli import main

LEGACY = """
from flask import Blueprint, Flask, abort, jsonify, request

#: tokens the contracts' state hook seeds (a test database would, in a real app)
TOKENS: set[str] = set()

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.route("/<int:user_id>", methods=["GET", "PUT"])
def user(user_id):
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    if token not in TOKENS and token != "fixed":
        abort(401)
    return jsonify(id=user_id, name="Ann")


app = Flask(__name__)
app.register_blueprint(bp)
"""

MODERN = "from fastapi import FastAPI\n\napp = FastAPI()\n"

STATE_HOOK = """
from contextlib import contextmanager

import pytest

import {legacy}


@pytest.fixture
def routeshift_state():
    @contextmanager
    def state(side):
        {legacy}.TOKENS.add("seeded")  # as a seeded test database would hold it
        try:
            yield
        finally:
            {legacy}.TOKENS.clear()

    return state
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    legacy, modern = f"legacy_{uuid.uuid4().hex[:8]}", f"modern_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{legacy}.py").write_text(textwrap.dedent(LEGACY))
    (tmp_path / modern).mkdir()
    (tmp_path / modern / "__init__.py").write_text(MODERN)
    routes = [{"endpoint": "users.user", "rule": "/users/<int:user_id>", "methods": ["GET", "PUT"]}]
    write_registry(
        tmp_path,
        [dict(r, state="legacy") for r in routes],
        legacy_app=f"{legacy}:app",
        modern_app=f"{modern}:app",
        settings={"contracts_dir": "contracts"},
    )
    (tmp_path / "contracts").mkdir()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "names").write_text(legacy)
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith((legacy, modern))]:
        del sys.modules[name]


def scaffold(*args: str) -> Result:
    return CliRunner().invoke(main, ["scaffold", "users.user", "--method", "GET", *args])


def cases(folder: Path) -> list[dict[str, object]]:
    data = yaml.safe_load((folder / "contracts" / "users.user.yaml").read_text())
    return list(data["cases"])


def test_without_cases_the_rules_example_path_is_sent_and_written(project: Path) -> None:
    result = CliRunner().invoke(main, ["scaffold", "users.user"])
    assert result.exit_code == 0, result.output
    # one case per method; only the GET was sent (a PUT would write)
    assert [(c["id"], c["method"], c["path"]) for c in cases(project)] == [
        ("sample-get", "GET", "/users/1"),
        ("sample-put", "PUT", "/users/1"),
    ]
    text = (project / "contracts" / "users.user.yaml").read_text()
    assert "# not sent by scaffold (it would write)" in text
    # behind auth, without a header: the note says how to send one
    assert "legacy answered no sample with success (401)" in result.output
    assert "--header 'Authorization: Bearer TOKEN'" in result.output


def test_a_header_goes_with_the_sample_and_into_the_case_file(project: Path) -> None:
    result = scaffold("--header", "Authorization: Bearer fixed")
    assert result.exit_code == 0, result.output
    assert "no sample with success" not in result.output
    module = next((project).glob("modern_*/routers/users_user.py"), None) or next(
        project.glob("modern_*/users_user.py")
    )
    assert "name: str" in module.read_text()  # the model came from legacy's 200
    assert cases(project) == [
        {
            "id": "sample",
            "method": "GET",
            "path": "/users/1",
            "headers": {"Authorization": "Bearer fixed"},
        }
    ]


def test_the_samples_go_through_the_contracts_state_hook(project: Path) -> None:
    legacy = (project / "names").read_text()
    (project / "contracts" / "conftest.py").write_text(
        textwrap.dedent(STATE_HOOK).format(legacy=legacy)
    )
    result = scaffold("--header", "Authorization: Bearer seeded")
    assert result.exit_code == 0, result.output
    assert "no sample with success" not in result.output  # the hook seeded the token
    # and outside the hook that token is unknown
    (project / "contracts" / "conftest.py").unlink()
    again = scaffold("--header", "Authorization: Bearer seeded", "--force")
    assert "legacy answered no sample with success (401)" in again.output


def test_a_bad_header_is_bad_input(project: Path) -> None:
    result = scaffold("--header", "no colon here")
    assert result.exit_code == 2
    assert "write NAME:VALUE" in result.output


def test_help_says_what_scaffold_does(project: Path) -> None:
    result = CliRunner().invoke(main, ["scaffold", "--help"])
    help_text = " ".join(result.output.split())
    assert "routers/<endpoint, . as _>.py" in help_text  # as default_module_path names it
    assert "--header NAME:VALUE" in help_text
    assert "state hook" in help_text
    assert "case file when it has none" in help_text
