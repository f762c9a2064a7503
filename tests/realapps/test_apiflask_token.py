"""APIFlask's token auth example (examples/auth/token_auth of apiflask-3.1.2): a JSON API
whose POST /token/<int:id> signs a JWT and whose GET /name needs it (HTTPTokenAuth,
JSON errors with `WWW-Authenticate: Bearer`), plus APIFlask's own /openapi.json and
/docs. Moved with routeshift as a new user would:

- `routeshift init --legacy app:app` registers its five routes legacy, by blueprint
  (APIFlask's docs are blueprint `openapi`), and `routeshift check` passes;
- both routes are ported (overlay_apiflask_token/: the app's own auth, Token schema,
  JSON provider and error processor, through routeshift.compat) and proven by contract;
- the gateway answers a recorded client (get a token, use it, 401s, a 404, a 405, the
  example's own 500) as gunicorn serving the example alone does, with the two routes
  legacy, modern, in shadow (POST /token needs `shadow_writes: true`, written by hand)
  and rolled back.
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
PORTED = ("get_token", "get_secret")
#: the example's tokens are HS256 JWTs of {"id": N} without a timestamp: always this text
TOKEN_1 = (
    "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6MX0."
    "Ye0qYHbElGyNpRhrKfpdDlcq3hT23hob2viGYG-fZZI"
)
OTHER_KEY = (
    "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6MX0."
    "IORGbT_CKA7wHd5NWUSreoqWmYtpoL0VLEc-5HAT-Ks"
)


class Initialised(NamedTuple):
    project: Project
    output: str
    registry: str


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Initialised:
    need_apiflask("authlib")
    project = Project.copy_of("apiflask_token", tmp_path_factory.mktemp("realapps"))
    output = project.routeshift("init", "--legacy", WSGI_APP)
    return Initialised(project, output, (project.root / "migration_status.yaml").read_text())


class Ported(NamedTuple):
    project: Project
    scaffolded: str
    contract: str


@pytest.fixture(scope="module")
def ported(initialised: Initialised) -> Ported:
    project = initialised.project
    scaffolded = project.routeshift("scaffold", "get_token")
    scaffolded += project.routeshift(
        "scaffold", "get_secret", "--header", f"Authorization:{TOKEN_1}"
    )
    project.lay("overlay_apiflask_token")
    contract = project.routeshift("contract", "--route", "get_token", "--route", "get_secret")
    return Ported(project, scaffolded, contract)


def test_init_registers_every_route_legacy_by_blueprint(initialised: Initialised) -> None:
    text = initialised.registry
    entries = yaml.safe_load(text)["routes"]
    assert [(e["endpoint"], e["rule"], e["methods"], e["state"]) for e in entries] == [
        ("openapi.spec", "/openapi.json", ["GET"], "legacy"),
        ("openapi.docs", "/docs", ["GET"], "legacy"),
        ("openapi.swagger_ui_oauth_redirect", "/docs/oauth2-redirect", ["GET"], "legacy"),
        ("get_token", "/token/<int:id>", ["POST"], "legacy"),
        ("get_secret", "/name", ["GET"], "legacy"),
    ]
    assert text.index("# --- blueprint openapi") < text.index("openapi.spec")
    assert text.index("# --- the app's own routes") < text.index("get_token")
    # the legacy app has FastAPI's docs paths: the written FastAPI app moves its docs aside
    modern = (initialised.project.root / "modern_api" / "__init__.py").read_text()
    assert 'FastAPI(title="modern", docs_url=None, openapi_url=None)' in modern
    assert "check passed: 0 errors" in initialised.project.routeshift("check")


def test_the_ports_pass_their_contract_cases(ported: Ported) -> None:
    assert "wrote modern_api/get_token.py" in ported.scaffolded
    assert "wrote modern_api/get_secret.py" in ported.scaffolded
    # scaffold sends no POST (it would write): the token port starts without a type
    assert "not sent to legacy: sample (POST /token/1)" in ported.scaffolded
    assert "11 passed, 0 failed" in ported.contract
    assert "FAIL" not in ported.contract


def client_session() -> list[Step]:
    return [
        Step("POST", "/token/1", "get_token"),
        Step("GET", "/name", "get_secret", headers={"Authorization": TOKEN_1}),
        Step("HEAD", "/name", "get_secret", headers={"Authorization": TOKEN_1}),
        Step("POST", "/token/2", "get_token"),
        Step("GET", "/name", "get_secret"),  # no token: 401
        Step("GET", "/name", "get_secret", headers={"Authorization": "Bearer not-a-jwt"}),
        Step("GET", "/name", "get_secret", headers={"Authorization": OTHER_KEY}),
        Step("POST", "/token/99", "get_token"),  # the example's IndexError: a JSON 500
        Step("POST", "/token/abc"),  # no int: 404
        Step("GET", "/token/1", "get_token"),  # 405
        Step("OPTIONS", "/name", "get_secret"),
        Step("GET", "/nope"),  # APIFlask's JSON 404
        Step("GET", "/openapi.json", "openapi.spec"),
        Step("GET", "/docs", "openapi.docs"),
    ]


def allow_shadow_writes(project: Project) -> None:
    """By hand, as the registry's error says: the token port writes nothing, so a shadow
    copy of POST /token/<id> is safe."""
    path = project.root / "migration_status.yaml"
    text = path.read_text()
    entry = '  - endpoint: get_token\n    rule: "/token/<int:id>"\n    methods: [POST]\n'
    assert entry in text
    path.write_text(text.replace(entry, entry + "    shadow_writes: true\n"))


@pytest.mark.live
def test_the_gateway_answers_as_gunicorn_in_every_state(ported: Ported) -> None:
    project = ported.project
    with serving(project, WSGI_APP) as (alone, gateway):

        def run(**options: object) -> Scenario:
            scenario = Scenario(alone, gateway, **options).run(client_session())  # type: ignore[arg-type]
            assert not scenario.problems, "\n".join(scenario.problems)
            token, name = scenario.answers[0][1], scenario.answers[1][1]
            assert token.json() == {"token": TOKEN_1}
            assert (name.status_code, name.text) == (200, "lorem")
            unauthorised = scenario.answers[4][2]
            assert unauthorised.status_code == 401
            assert unauthorised.json() == {"detail": {}, "message": "Unauthorized"}
            assert scenario.answers[7][2].status_code == 500
            return scenario

        legacy = run()
        assert legacy.served("get_token") == legacy.served("get_secret") == {"legacy"}

        for endpoint in PORTED:
            project.routeshift("promote", endpoint, "--to", "modern")
        wait_for_states(gateway, {("get_token", "POST"): "modern", ("get_secret", "GET"): "modern"})
        modern = run()
        assert modern.served("get_token", "POST") == {"modern"}
        assert modern.served("get_secret", "GET", "HEAD") == {"modern"}

        refused = project.routeshift(
            "promote", "get_token", "--to", "shadow", expect=1
        )  # refused, not bad input
        assert "shadow_writes" in refused
        allow_shadow_writes(project)
        for endpoint in PORTED:
            project.routeshift("promote", endpoint, "--to", "shadow")
        wait_for_states(gateway, {("get_token", "POST"): "shadow", ("get_secret", "GET"): "shadow"})
        copies = [shadow_runs(gateway)]

        def copied(step: Step, response: httpx.Response) -> None:
            if step.endpoint in PORTED and step.method != "OPTIONS" and response.status_code != 405:
                copies[0] += 1
                wait_until(lambda: shadow_runs(gateway) >= copies[0], f"the copy of {step}")

        shadow = run(after=copied)
        assert shadow.served("get_token") == shadow.served("get_secret") == {"legacy"}
        for endpoint in PORTED:
            count = sum(
                1
                for step, _, got in shadow.answers
                if step.endpoint == endpoint and step.method != "OPTIONS" and got.status_code != 405
            )
            wait_until(
                lambda e=endpoint, c=count: stored_shadow_runs(gateway, e) >= c,
                f"{count} shadow runs of {endpoint} stored",
            )
        assert "No shadow mismatches" in project.routeshift("diffs")

        for endpoint in PORTED:
            project.routeshift("rollback", endpoint)
        wait_for_states(gateway, {("get_token", "POST"): "legacy", ("get_secret", "GET"): "legacy"})
        back = run()
        assert back.served("get_token") == back.served("get_secret") == {"legacy"}
