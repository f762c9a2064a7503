"""flaskr, Flask's own tutorial app (a session login, blueprints auth and blog, SQLite),
from the sdist of the venv's Flask, moved with routeshift as its docs tell a new user:

- `routeshift init --legacy "flaskr:create_app()"` registers every route legacy, by
  blueprint, and `routeshift check` passes;
- `routeshift scaffold` starts the ports of GET / and GET /auth/login (overlay_flaskr/
  fills them in: flaskr's own database connection, templates and session, through
  routeshift.compat), and `routeshift contract` proves them on flaskr's own test data;
- the gateway answers a recorded visit (register, log in, write, edit and delete a
  post, log out) exactly as gunicorn serving flaskr alone does, with the two routes
  legacy, modern, in shadow (no shadow difference stored) and rolled back.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import httpx
import pytest
import yaml

from realapps.support import (
    Project,
    Scenario,
    Step,
    cookies_of,
    imported_from,
    serving,
    shadow_runs,
    stored_shadow_runs,
    wait_for_states,
    wait_until,
)

WSGI_APP = "flaskr:create_app()"
#: the ported routes, as `routeshift promote` names them
PORTED = (("blog.index", "GET"), ("auth.login", "GET"))
#: the requests a route in shadow copies to its port (HEAD follows GET)
COPIED = frozenset({*PORTED, ("blog.index", "HEAD")})
#: a signed session of flaskr's (SECRET_KEY "dev") with user 1 and a flashed message
FLASHED_USER_1 = (
    "eyJ1c2VyX2lkIjoxLCJfZmxhc2hlcyI6W3siIHQiOlsibWVzc2FnZSIsIlRpdGxlIGlzIHJlcXVpcmVkLiJd"
    "fV19.aw9Lzg.fVkApiiP1vOuem9TOLwF-fJ6ft8"
)


class Initialised(NamedTuple):
    project: Project
    output: str
    registry: str  # the registry as init wrote it


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Initialised:
    project = Project.copy_of("flaskr", tmp_path_factory.mktemp("realapps"))
    output = project.routeshift("init", "--legacy", WSGI_APP)
    return Initialised(project, output, (project.root / "migration_status.yaml").read_text())


@pytest.fixture(scope="module")
def flaskr(initialised: Initialised) -> Iterator[ModuleType]:
    """The flaskr package of the project, imported here (its url_map, its serializer)."""
    with imported_from(initialised.project.root, "flaskr"):
        import flaskr
        import flaskr.db

        yield flaskr


class Ported(NamedTuple):
    project: Project
    scaffolded: str
    contract: str


@pytest.fixture(scope="module")
def ported(initialised: Initialised) -> Ported:
    """The two ports scaffolded, filled in (overlay_flaskr/) and proven by contract."""
    project = initialised.project
    scaffolded = project.routeshift("scaffold", "blog.index")
    scaffolded += project.routeshift("scaffold", "auth.login", "--method", "GET")
    project.lay("overlay_flaskr")
    contract = project.routeshift("contract", "--route", "blog.index", "--route", "auth.login")
    return Ported(project, scaffolded, contract)


def test_init_registers_every_route_legacy_by_blueprint(
    initialised: Initialised, flaskr: ModuleType
) -> None:
    app = flaskr.create_app()
    expected = {
        (rule.endpoint, rule.rule, frozenset(rule.methods or ()) - {"HEAD", "OPTIONS"})
        for rule in app.url_map.iter_rules()
        if rule.endpoint in app.view_functions and rule.endpoint != "static"
    }
    entries = yaml.safe_load(initialised.registry)["routes"]
    assert {(e["endpoint"], e["rule"], frozenset(e["methods"])) for e in entries} == expected
    assert {e["state"] for e in entries} == {"legacy"}
    assert len(entries) == len(expected) == 8
    # each entry sits under the comment of its blueprint
    group = None
    for line in initialised.registry.splitlines():
        if line.startswith("  # --- blueprint "):
            group = line.split()[3]
        elif line.startswith("  # --- the app's own routes"):
            group = ""
        elif line.startswith("  - endpoint: "):
            assert line.split()[-1].rpartition(".")[0] == group, line
    assert "the legacy app is flaskr:create_app() (found by --legacy); 8 routes." in (
        initialised.output
    )
    assert "check passed: 0 errors" in initialised.project.routeshift("check")


def test_init_leaves_out_the_index_rule_that_no_request_reaches(
    initialised: Initialised, flaskr: ModuleType
) -> None:
    """flaskr's `app.add_url_rule("/", endpoint="index")` (so that url_for("index") works)
    has no view, and werkzeug sends / to blog.index: no case could prove a port of it, so
    it is no route of the migration (registered, it kept flaskr from ever reaching 100 %)."""
    app = flaskr.create_app()
    assert app.url_map.bind("flaskr.test").match("/") == ("blog.index", {})
    assert "index" not in app.view_functions
    endpoints = {e["endpoint"] for e in yaml.safe_load(initialised.registry)["routes"]}
    assert "index" not in endpoints and "blog.index" in endpoints


def test_the_ports_pass_their_contract_cases(ported: Ported) -> None:
    for stub in ("modern_api/blog_index.py", "modern_api/auth_login.py"):
        assert f"wrote {stub}" in ported.scaffolded
    assert "10 passed, 0 failed" in ported.contract
    assert "FAIL" not in ported.contract


def test_a_contract_case_does_not_carry_the_cookies_of_the_case_before(ported: Ported) -> None:
    """The flashed case's answer sets a session (user 1, the flash shown); the next case,
    with no Cookie header, must be answered to an anonymous visitor."""
    code = f"""
from routeshift import Harness, case
harness = Harness.from_registry("migration_status.yaml")
harness.run(case("blog.index", "GET", "/", headers={{"Cookie": "session={FLASHED_USER_1}"}}))
second = harness.run(case("blog.index", "GET", "/"))
print("anonymous" if b"Log In" in second.legacy.body else "logged in")
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ported.project.root,
        env=ported.project.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split()[-1] == "anonymous"


# --- the gateway against gunicorn -------------------------------------------------------


def visit(n: int) -> list[Step]:
    """A visitor's recorded session: the n-th one registers user ada<n> and writes post n+1
    (the database starts with flaskr's test data: users 1 and 2, post 1 by user 1)."""
    login = {"username": f"ada{n}", "password": "lovelace"}
    post = n + 1
    return [
        Step("GET", "/", "blog.index"),
        Step("HEAD", "/", "blog.index"),
        Step("GET", "/hello", "hello"),
        Step("GET", "/auth/register", "auth.register"),
        Step("POST", "/auth/register", "auth.register", data=login),
        Step("POST", "/auth/register", "auth.register", data=login),  # taken: a flash
        Step("GET", "/auth/login", "auth.login"),
        Step("POST", "/auth/login", "auth.login", data={**login, "password": "wrong"}),
        Step("POST", "/auth/login", "auth.login", data=login),  # the session cookie
        Step("GET", "/", "blog.index"),
        Step("GET", "/auth/login", "auth.login"),
        Step("GET", "/create", "blog.create"),
        Step("POST", "/create", "blog.create", data={"title": "", "body": ""}),
        Step("POST", "/create", "blog.create", data={"title": f"Post {n}", "body": "Hi"}),
        Step("GET", "/", "blog.index"),
        Step("GET", f"/{post}/update", "blog.update"),
        Step(
            "POST",
            f"/{post}/update",
            "blog.update",
            data={"title": f"Post {n}, again", "body": "<b>escaped</b>"},
        ),
        Step("GET", "/", "blog.index"),
        Step("GET", "/1/update", "blog.update"),  # not the author: 403
        Step("POST", f"/{post}/delete", "blog.delete"),
        Step("GET", f"/{post}/update", "blog.update"),  # gone: 404
        Step("GET", "/auth/logout", "auth.logout"),
        Step("GET", "/", "blog.index"),
        Step("GET", "/create", "blog.create"),  # logged out: to the login page
        Step("GET", "/static/style.css", "static"),
        Step("GET", "/nope"),
    ]


def seeded_database(flaskr: ModuleType, path: Path) -> Path:
    """A database with flaskr's own test data, made as flaskr's tests/conftest.py makes it."""
    data = (Path(flaskr.__file__).parent.parent / "tests" / "data.sql").read_text("utf-8")
    app = flaskr.create_app({"TESTING": True, "DATABASE": str(path)})
    with app.app_context():
        flaskr.db.init_db()
        flaskr.db.get_db().executescript(data)
    return path


def promote(project: Project, state: str) -> None:
    for endpoint, method in PORTED:
        project.routeshift("promote", endpoint, "--method", method, "--to", state)


@pytest.mark.live
def test_the_gateway_answers_as_gunicorn_in_every_state(
    ported: Ported, flaskr: ModuleType, tmp_path: Path
) -> None:
    project = ported.project
    seeded = seeded_database(flaskr, tmp_path / "seeded.sqlite")
    databases = {side: tmp_path / f"{side}.sqlite" for side in ("alone", "gateway")}
    for path in databases.values():
        shutil.copyfile(seeded, path)
    app = flaskr.create_app()
    loads = app.session_interface.get_signing_serializer(app).loads
    with serving(
        project,
        WSGI_APP,
        alone={"FLASKR_DATABASE": str(databases["alone"])},
        gateway={"FLASKR_DATABASE": str(databases["gateway"])},
    ) as (alone, gateway):

        def visit_now(n: int, **options: Any) -> Scenario:
            scenario = Scenario(alone, gateway, loads=loads, **options).run(visit(n))
            assert not scenario.problems, "\n".join(scenario.problems)
            assert scenario.served("auth.login", "POST") == {"legacy"}
            assert scenario.served("blog.create") == {"legacy"}
            login = scenario.answers[8][2]  # user ada<n> is user n + 2
            assert cookies_of(login, "session", loads)[0][:2] == (
                "session",
                ("payload", {"user_id": n + 2}),
            )
            return scenario

        legacy = visit_now(1)
        assert legacy.served("blog.index") == legacy.served("auth.login") == {"legacy"}
        assert b"ada1" in legacy.answers[9][1].content  # the index, logged in

        promote(project, "modern")
        wait_for_states(gateway, dict.fromkeys(PORTED, "modern"))
        modern = visit_now(2)
        assert modern.served("blog.index") == modern.served("auth.login", "GET") == {"modern"}

        promote(project, "shadow")
        wait_for_states(gateway, dict.fromkeys(PORTED, "shadow"))
        copies = [shadow_runs(gateway)]

        def copied(step: Step, response: httpx.Response) -> None:
            """Each copy done before the next request, which may write what it reads."""
            if (step.endpoint, step.method) in COPIED:
                copies[0] += 1
                wait_until(lambda: shadow_runs(gateway) >= copies[0], f"the copy of {step}")

        shadow = visit_now(3, after=copied)
        assert shadow.served("blog.index") == shadow.served("auth.login") == {"legacy"}
        for endpoint, _ in PORTED:
            count = sum(
                1
                for step, _, _ in shadow.answers
                if step.endpoint == endpoint and (endpoint, step.method) in COPIED
            )
            wait_until(
                lambda e=endpoint, c=count: stored_shadow_runs(gateway, e) >= c,
                f"{count} shadow runs of {endpoint} stored",
            )
        assert "No shadow mismatches" in project.routeshift("diffs")

        for endpoint, method in PORTED:
            project.routeshift("rollback", endpoint, "--method", method)
        wait_for_states(gateway, dict.fromkeys(PORTED, "legacy"))
        back = visit_now(4)
        assert back.served("blog.index") == back.served("auth.login") == {"legacy"}

    # and both databases hold the same users after all that
    query = "SELECT id, username FROM user ORDER BY id"
    users = []
    for path in databases.values():
        with contextlib.closing(sqlite3.connect(path)) as connection:
            users.append(connection.execute(query).fetchall())
    assert (
        users[0]
        == users[1]
        == [(1, "test"), (2, "other")] + [(n + 2, f"ada{n}") for n in (1, 2, 3, 4)]
    )
