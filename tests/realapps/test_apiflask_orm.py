"""APIFlask's Flask-SQLAlchemy example (examples/orm of apiflask-3.1.2): a pet store whose
views read and write through `db` (Flask-SQLAlchemy 3, SQLite in memory, seeded when
app.py is imported), schemas in and out, APIFlask's JSON errors. Moved with routeshift
as a new user would:

- `routeshift init --legacy app:app` registers its nine routes legacy and `routeshift
  check` passes;
- GET /pets/<int:pet_id> is ported (overlay_apiflask_orm/: the app's own `db` and
  model through routeshift.compat, the scaffold's response model) and proven by contract;
- the gateway answers a recorded client (reads, a 404, writes the legacy views make and
  the port then reads) as gunicorn serving the example alone does, with the route
  legacy, modern, in shadow (no diffs) and rolled back.
"""

from __future__ import annotations

from typing import NamedTuple

import httpx
import pytest
import yaml

from realapps.support import (
    Project,
    Scenario,
    Step,
    need_apiflask,
    serving,
    shadow_runs,
    stored_shadow_runs,
    wait_for_states,
    wait_until,
)

WSGI_APP = "app:app"
PORTED = ("get_pet", "GET")


class Ported(NamedTuple):
    project: Project
    initialised: str
    registry: str
    scaffolded: str
    contract: str
    queries_contract: str


@pytest.fixture(scope="module")
def ported(tmp_path_factory: pytest.TempPathFactory) -> Ported:
    """init, scaffold, the port filled in (overlay_apiflask_orm/), its contract run."""
    need_apiflask("flask_sqlalchemy")
    project = Project.copy_of("apiflask_orm", tmp_path_factory.mktemp("realapps"))
    initialised = project.routeshift("init", "--legacy", WSGI_APP)
    registry = (project.root / "migration_status.yaml").read_text()
    scaffolded = project.routeshift("scaffold", "get_pet")
    project.routeshift("scaffold", "get_pets")
    project.lay("overlay_apiflask_orm")
    contract = project.routeshift("contract", "--route", "get_pet")
    queries_contract = project.routeshift("contract", "--route", "get_pets")
    return Ported(project, initialised, registry, scaffolded, contract, queries_contract)


def test_init_registers_every_route_legacy(ported: Ported) -> None:
    entries = yaml.safe_load(ported.registry)["routes"]
    assert {(e["endpoint"], e["rule"], tuple(e["methods"])) for e in entries} == {
        ("openapi.spec", "/openapi.json", ("GET",)),
        ("openapi.docs", "/docs", ("GET",)),
        ("openapi.swagger_ui_oauth_redirect", "/docs/oauth2-redirect", ("GET",)),
        ("say_hello", "/", ("GET",)),
        ("get_pet", "/pets/<int:pet_id>", ("GET",)),
        ("get_pets", "/pets", ("GET",)),
        ("create_pet", "/pets", ("POST",)),
        ("update_pet", "/pets/<int:pet_id>", ("PATCH",)),
        ("delete_pet", "/pets/<int:pet_id>", ("DELETE",)),
    }
    assert {e["state"] for e in entries} == {"legacy"}
    assert "9 routes" in ported.initialised
    assert "check passed: 0 errors" in ported.project.routeshift("check")


def test_the_port_passes_its_contract_cases(ported: Ported) -> None:
    assert "wrote modern_api/get_pet.py" in ported.scaffolded
    assert "6 passed, 0 failed" in ported.contract
    assert "FAIL" not in ported.contract


def test_a_port_on_the_apps_engine_through_queries_passes_its_contract(ported: Ported) -> None:
    """GET /pets through `LegacyDatabase(legacy, db).queries`: the app's own engine (its
    in-memory SQLite, which only that engine reaches), no app context."""
    assert "3 passed, 0 failed" in ported.queries_contract, ported.queries_contract
    assert "FAIL" not in ported.queries_contract


def client_session(n: int) -> list[Step]:
    """The n-th client renames pet 2 and deletes pet 3 (gone after the first client),
    adds a pet, and reads them back through the port's route."""
    return [
        Step("GET", "/pets/1", "get_pet"),
        Step("HEAD", "/pets/1", "get_pet"),
        Step("GET", "/pets/99", "get_pet"),
        Step("PATCH", "/pets/2", "update_pet", json={"name": f"Coco {n}"}),
        Step("GET", "/pets/2", "get_pet"),  # the legacy view's write, read by the port
        Step("DELETE", "/pets/3", "delete_pet"),  # 204, then 404 for the next clients
        Step("GET", "/pets/3", "get_pet"),
        Step("POST", "/pets", "create_pet", json={"name": f"Rex {n}", "category": "dog"}),
        Step("GET", f"/pets/{n + 3}", "get_pet"),
        Step("PATCH", "/pets/2", "update_pet", json={"category": "fish"}),  # a JSON 422
        Step("GET", "/pets", "get_pets"),
        Step("GET", "/", "say_hello"),
        Step("OPTIONS", "/pets/1", "get_pet"),
        Step("GET", "/pets/abc"),  # no int: APIFlask's JSON 404
    ]


@pytest.mark.live
def test_the_gateway_answers_as_gunicorn_in_every_state(ported: Ported) -> None:
    project = ported.project
    with serving(project, WSGI_APP) as (alone, gateway):
        clients = iter(range(1, 5))

        def run(**options: object) -> Scenario:
            scenario = Scenario(alone, gateway, **options).run(client_session(next(clients)))  # type: ignore[arg-type]
            assert not scenario.problems, "\n".join(scenario.problems)
            assert scenario.answers[0][2].json() == {"category": "cat", "id": 1, "name": "Kitty"}
            assert scenario.answers[2][2].status_code == 404
            assert scenario.answers[4][2].json()["name"].startswith("Coco ")
            assert scenario.served("update_pet") == scenario.served("create_pet") == {"legacy"}
            return scenario

        legacy = run()
        assert legacy.served("get_pet", "GET", "HEAD") == {"legacy"}

        project.routeshift("promote", "get_pet", "--to", "modern")
        wait_for_states(gateway, {PORTED: "modern"})
        modern = run()
        assert modern.served("get_pet", "GET", "HEAD") == {"modern"}

        project.routeshift("promote", "get_pet", "--to", "shadow")
        wait_for_states(gateway, {PORTED: "shadow"})
        copies = [shadow_runs(gateway)]

        def copied(step: Step, response: httpx.Response) -> None:
            """Each copy done before the next request, which may write what it reads."""
            if step.endpoint == "get_pet" and step.method in ("GET", "HEAD"):
                copies[0] += 1
                wait_until(lambda: shadow_runs(gateway) >= copies[0], f"the copy of {step}")

        shadow = run(after=copied)
        assert shadow.served("get_pet") == {"legacy"}
        count = sum(1 for step, _, _ in shadow.answers if step.endpoint == "get_pet")
        count -= 1  # OPTIONS is never copied
        wait_until(
            lambda: stored_shadow_runs(gateway, "get_pet") >= count,
            f"{count} shadow runs of get_pet stored",
        )
        assert "No shadow mismatches" in project.routeshift("diffs")

        project.routeshift("rollback", "get_pet")
        wait_for_states(gateway, {PORTED: "legacy"})
        back = run()
        assert back.served("get_pet") == {"legacy"}
