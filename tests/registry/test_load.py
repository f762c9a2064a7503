"""routeshift.registry.model: migration_status.yaml is loaded with file:line errors and held
against the apps it names."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from flask import Blueprint, Flask

from routeshift.errors import Problem, RegistryError
from routeshift.registry.fit import check_routes
from routeshift.registry.load import load_registry, parse_registry, registry_path
from routeshift.registry.model import Registry, State
from routeshift.routes import legacy_routes, modern_routes

FILE = Path("migration_status.yaml")
HEAD = "legacy_app: legacy:app\nmodern_app: modern:app\n"


def parse(text: str) -> Registry:
    return parse_registry(textwrap.dedent(text), FILE)


def problems(text: str) -> tuple[Problem, ...]:
    with pytest.raises(RegistryError) as info:
        parse(text)
    return info.value.problems


def only_problem(text: str) -> Problem:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# --- loading what is valid -------------------------------------------------------------


def test_a_registry_loads_with_its_entries() -> None:
    registry = parse(
        """\
        # migration_status.yaml
        legacy_app: legacy_flask:app
        modern_app: modern_api:app
        routes:
          - endpoint: users.get_user
            rule: /users/<int:user_id>
            methods: [GET]
            state: modern
            owner: team-accounts
            notes: ported
          - endpoint: users.create_user
            rule: /users
            methods: [POST]
            state: legacy
        """
    )
    assert registry.model.legacy_app == "legacy_flask:app"
    assert registry.model.modern_app == "modern_api:app"
    first, second = registry.routes
    assert (first.endpoint, first.rule, first.methods, first.state) == (
        "users.get_user",
        "/users/<int:user_id>",
        ("GET",),
        State.MODERN,
    )
    assert (first.owner, first.notes) == ("team-accounts", "ported")
    assert (second.endpoint, second.methods, second.state) == (
        "users.create_user",
        ("POST",),
        State.LEGACY,
    )
    assert (second.owner, second.notes, second.modern_path, second.retired) == (
        None,
        None,
        None,
        False,
    )
    assert (second.sample, second.error_format, second.shadow_writes) == (1.0, "legacy", False)


def test_entry_repr_reads_well() -> None:
    registry = parse(
        HEAD + "routes:\n  - {endpoint: e, rule: /x, methods: [GET, POST], state: modern}\n"
    )
    assert repr(registry.routes[0]) == "Entry('e', '/x', ['GET', 'POST'], modern)"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(HEAD + "routes: []\n", id="routes-empty-list"),
        pytest.param(HEAD, id="routes-absent"),
    ],
)
def test_no_routes_is_valid(text: str) -> None:
    assert parse(text).routes == ()


def test_settings_defaults() -> None:
    settings = parse(HEAD).settings
    assert settings.bridge_threads == 64
    assert settings.admin_prefix == "/_routeshift"
    assert settings.metrics_path == "/metrics"
    assert settings.store_url is None
    assert settings.shadow_timeout_s == 2.0
    assert settings.shadow_max_in_flight == 32
    assert settings.shadow_body_limit == 1024 * 1024
    assert settings.retention_rows == 100_000
    assert settings.retention_days == 14
    assert settings.default_cohort == "client"
    assert settings.redact == ()
    assert settings.contracts_dir == "tests/contracts"
    assert settings.force_legacy is False


def test_settings_are_read() -> None:
    settings = parse(
        HEAD
        + "settings:\n"
        + "  bridge_threads: 8\n"
        + "  admin_prefix: /_admin\n"
        + "  force_legacy: true\n"
        + "  redact: [password, /token]\n"
    ).settings
    assert settings.bridge_threads == 8
    assert settings.admin_prefix == "/_admin"
    assert settings.force_legacy is True
    assert settings.redact == ("password", "/token")
    assert settings.metrics_path == "/metrics"


@pytest.mark.parametrize(
    ("methods", "expected"),
    [
        pytest.param("[get, post]", ("GET", "POST"), id="lowercase-list"),
        pytest.param("[Delete]", ("DELETE",), id="mixed-case"),
        pytest.param("patch", ("PATCH",), id="single-string"),
    ],
)
def test_methods_are_uppercased(methods: str, expected: tuple[str, ...]) -> None:
    registry = parse(
        HEAD + f"routes:\n  - {{endpoint: e, rule: /x, methods: {methods}, state: legacy}}\n"
    )
    assert registry.routes[0].methods == expected


def test_load_registry_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "migration_status.yaml"
    path.write_text(HEAD + "routes:\n  - {endpoint: e, rule: /x, methods: [GET], state: legacy}\n")
    registry = load_registry(path)
    assert registry.path == path
    assert registry.folder == tmp_path
    assert [entry.endpoint for entry in registry.routes] == ["e"]


def test_load_registry_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "reg.yaml"
    path.write_text(HEAD + "routes:\n  - {endpoint: e, rule: /x, methods: [GET], stat: legacy}\n")
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    problem = info.value.problems[0]
    assert problem.file == str(path)
    assert problem.line == 4
    assert f"{path}:4: " in str(info.value)


def test_missing_file_says_how_to_point_at_it(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    (problem,) = info.value.problems
    assert problem.file == str(path)
    assert problem.line == 0
    assert "no such file" in problem.message
    assert "MIGRATION_STATUS" in problem.message
    assert "routeshift init" in problem.message
    assert str(problem).startswith(f"{path}: ")  # no ":0" for an unknown line


def test_unreadable_file_is_a_registry_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"legacy_app: caf\xe9:app\n")
    with pytest.raises(RegistryError) as info:
        load_registry(path)
    assert "cannot read the file" in info.value.problems[0].message


# --- registry_path precedence ----------------------------------------------------------


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        pytest.param(
            "arg.yaml",
            {"MIGRATION_STATUS": "env.yaml", "ROUTESHIFT_REGISTRY": "alias.yaml"},
            "arg.yaml",
            id="explicit-wins",
        ),
        pytest.param(
            None,
            {"MIGRATION_STATUS": "env.yaml", "ROUTESHIFT_REGISTRY": "alias.yaml"},
            "env.yaml",
            id="migration-status-over-alias",
        ),
        pytest.param(None, {"ROUTESHIFT_REGISTRY": "alias.yaml"}, "alias.yaml", id="alias"),
        pytest.param(None, {}, "migration_status.yaml", id="default"),
        pytest.param(
            None,
            {"MIGRATION_STATUS": "", "ROUTESHIFT_REGISTRY": ""},
            "migration_status.yaml",
            id="empty-env-is-unset",
        ),
        pytest.param(Path("p/reg.yaml"), {}, "p/reg.yaml", id="explicit-path-object"),
    ],
)
def test_registry_path_precedence(
    monkeypatch: pytest.MonkeyPatch, explicit: Any, env: dict[str, str], expected: str
) -> None:
    monkeypatch.delenv("MIGRATION_STATUS", raising=False)
    monkeypatch.delenv("ROUTESHIFT_REGISTRY", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert registry_path(explicit) == Path(expected)


# --- errors carry file:line ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param(
            HEAD + "routes: [\n  {endpoint: x\n", 5, "did not find expected", id="unclosed-flow"
        ),
        pytest.param(HEAD + "routes:\n\t- endpoint: x\n", 4, "cannot start any token", id="tab"),
        pytest.param(HEAD + "routes: a: b\n", 3, "mapping values are not allowed", id="colon"),
        pytest.param(
            HEAD + "routes:\n  - endpoint: x\n   rule: /\n", 5, "block collection", id="indent"
        ),
        pytest.param(HEAD + "---\nrouts: []\n", 3, "single document", id="two-documents"),
    ],
)
def test_malformed_yaml(text: str, line: int, words: str) -> None:
    problem = only_problem(text)
    assert problem.file == str(FILE)
    assert problem.line == line
    assert problem.message.startswith("malformed YAML: ")
    assert words in problem.message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param(
            "legacy_app: a:app\nmodern_app: b:app\nlegacy_app: c:app\n",
            3,
            "key 'legacy_app' appears twice in one mapping (first at line 1)",
            id="top-level",
        ),
        pytest.param(
            HEAD
            + "routes:\n"
            + "  - endpoint: e\n"
            + "    rule: /x\n"
            + "    state: legacy\n"
            + "    methods: [GET]\n"
            + "    state: modern\n",
            8,
            "key 'state' appears twice in one mapping (first at line 6)",
            id="in-an-entry",
        ),
        pytest.param(
            HEAD + "settings:\n  bridge_threads: 4\n  bridge_threads: 8\n",
            5,
            "key 'bridge_threads' appears twice in one mapping (first at line 4)",
            id="in-settings",
        ),
    ],
)
def test_a_key_twice_in_one_mapping(text: str, line: int, words: str) -> None:
    problem = only_problem(text)
    assert problem.line == line
    assert words in problem.message


def test_the_same_key_in_two_entries_is_fine() -> None:
    registry = parse(
        HEAD
        + "routes:\n"
        + "  - {endpoint: a, rule: /a, methods: [GET], state: legacy}\n"
        + "  - {endpoint: b, rule: /b, methods: [GET], state: legacy}\n"
    )
    assert [e.endpoint for e in registry.routes] == ["a", "b"]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param(
            HEAD + "routs: []\n",
            3,
            ["the registry: unknown key 'routs'.", "Did you mean 'routes'?", "Allowed keys:"],
            id="top-level",
        ),
        pytest.param(
            HEAD + "settings:\n  admin_prefix: /a\n  bridge_thread: 8\n",
            5,
            ["settings: unknown key 'bridge_thread'.", "Did you mean 'bridge_threads'?"],
            id="settings",
        ),
        pytest.param(
            HEAD
            + "routes:\n"
            + "  - endpoint: e\n"
            + "    rule: /x\n"
            + "    methods: [GET]\n"
            + "    stat: legacy\n",
            7,
            ["routes[0]: unknown key 'stat'.", "Did you mean 'state'?", "endpoint, rule"],
            id="entry",
        ),
        pytest.param(
            HEAD
            + "routes:\n"
            + "  - endpoint: e\n"
            + "    rule: /x\n"
            + "    methods: [GET]\n"
            + "    state: legacy\n"
            + "    accept:\n"
            + "      - {wat: status, legacy: 200, modern: 201, why: REST}\n",
            9,
            ["routes[0].accept[0]: unknown key 'wat'.", "Did you mean 'what'?"],
            id="accept",
        ),
        pytest.param(
            HEAD + "routes: []\nzzz: 1\n",
            4,
            ["unknown key 'zzz'.", "Allowed keys: legacy_app, modern_app, routes, settings."],
            id="no-near-name",
        ),
    ],
)
def test_unknown_key(text: str, line: int, words: list[str]) -> None:
    unknown = [p for p in problems(text) if "unknown key" in p.message]
    assert len(unknown) == 1, unknown
    problem = unknown[0]
    assert problem.line == line
    for word in words:
        assert word in problem.message
    if "zzz" in text:
        assert "Did you mean" not in problem.message


@pytest.mark.parametrize(
    ("state", "hint"),
    [
        pytest.param("moderm", "Did you mean 'modern'?", id="typo"),
        pytest.param("legcy", "Did you mean 'legacy'?", id="typo-legacy"),
        pytest.param("ported", "", id="no-near-state"),
    ],
)
def test_unknown_state(state: str, hint: str) -> None:
    problem = only_problem(
        HEAD
        + "routes:\n"
        + "  - endpoint: e\n"
        + "    rule: /x\n"
        + "    methods: [GET]\n"
        + f"    state: {state}\n"
    )
    assert problem.line == 7
    assert f"routes[0].state: unknown state {state!r}." in problem.message
    assert "Use one of legacy, shadow, canary, modern." in problem.message
    assert hint in problem.message
    if not hint:
        assert "Did you mean" not in problem.message


def test_shadow_and_canary_load_with_their_keys() -> None:
    registry = parse(
        HEAD
        + "settings: {default_cohort: 'cookie:uid'}\n"
        + "routes:\n"
        + "  - {endpoint: a, rule: /a, methods: [GET], state: shadow, sample: 0.25}\n"
        + "  - {endpoint: b, rule: /b, methods: [GET, POST], state: canary, percent: 5,\n"
        + "     cohort: 'header:X-User-Id'}\n"
        + "  - {endpoint: c, rule: /c, methods: [POST], state: shadow, shadow_writes: true}\n"
    )
    shadow, canary, writes = registry.routes
    assert (shadow.state, shadow.sample) == (State.SHADOW, 0.25)
    assert (canary.state, canary.percent, canary.cohort) == (State.CANARY, 5, "header:X-User-Id")
    assert writes.shadow_writes is True
    assert registry.settings.default_cohort == "cookie:uid"


def test_canary_needs_a_percent() -> None:
    problem = only_problem(
        HEAD
        + "routes:\n"
        + "  - {endpoint: ok, rule: /ok, methods: [GET], state: legacy}\n"
        + "  - endpoint: e\n"
        + "    rule: /x\n"
        + "    methods: [GET]\n"
        + "    state: canary\n"
    )
    assert problem.line == 8
    assert "routes[1] (e): state canary needs percent" in problem.message
    assert "`percent: 5`" in problem.message


@pytest.mark.parametrize("methods", ["[POST]", "[GET, DELETE]", "[PATCH]"])
def test_shadow_of_a_write_route_needs_shadow_writes(methods: str) -> None:
    problem = only_problem(
        HEAD
        + "routes:\n"
        + "  - endpoint: e\n"
        + "    rule: /x\n"
        + f"    methods: {methods}\n"
        + "    state: shadow\n"
    )
    assert problem.line == 7
    assert "routes[0] (e): state shadow would run every" in problem.message
    assert "a second time on the modern side" in problem.message
    assert "`shadow_writes: true`" in problem.message


@pytest.mark.parametrize("methods", ["[GET]", "[GET, HEAD, OPTIONS]"])
def test_shadow_of_safe_methods_needs_no_flag(methods: str) -> None:
    registry = parse(
        HEAD + f"routes:\n  - {{endpoint: e, rule: /x, methods: {methods}, state: shadow}}\n"
    )
    assert registry.routes[0].state is State.SHADOW


@pytest.mark.parametrize(
    ("cohort", "words"),
    [
        pytest.param("hdr:X", "unknown cohort 'hdr:X'", id="unknown-kind"),
        pytest.param("header:", "cohort 'header:' names no header", id="no-name"),
        pytest.param("client:x", "unknown cohort 'client:x'", id="client-with-name"),
    ],
)
def test_bad_cohort(cohort: str, words: str) -> None:
    problem = only_problem(
        HEAD
        + "routes:\n"
        + "  - endpoint: e\n"
        + "    rule: /x\n"
        + "    methods: [GET]\n"
        + "    state: canary\n"
        + "    percent: 1\n"
        + f"    cohort: '{cohort}'\n"
    )
    assert problem.line == 9
    assert words in problem.message


@pytest.mark.parametrize(
    ("methods", "words"),
    [
        pytest.param(
            "[GET, GETT]", ["'GETT' is not an HTTP method.", "Did you mean 'GET'?"], id="typo"
        ),
        pytest.param("[fetch]", ["'FETCH' is not an HTTP method."], id="unknown"),
        pytest.param("[]", ["routes[0].methods"], id="empty"),
        pytest.param(
            "[1]", ["routes[0].methods[0]: Input should be a valid string"], id="not-a-string"
        ),
    ],
)
def test_bad_methods(methods: str, words: list[str]) -> None:
    found = problems(
        HEAD
        + "routes:\n"
        + "  - endpoint: e\n"
        + "    rule: /x\n"
        + f"    methods: {methods}\n"
        + "    state: legacy\n"
    )
    assert {p.line for p in found} == {6}
    problem = found[0]
    for word in words:
        assert word in problem.message


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        pytest.param(
            HEAD + "routes:\n  - endpoint: e\n    methods: [GET]\n    state: legacy\n",
            4,
            "routes[0]: required key 'rule' is missing.",
            id="entry-rule",
        ),
        pytest.param(
            HEAD + "routes:\n  - {endpoint: a, rule: /a, methods: [GET], state: legacy}\n"
            "  - {endpoint: b, rule: /b, methods: [GET]}\n",
            5,
            "routes[1]: required key 'state' is missing.",
            id="second-entry-state",
        ),
        pytest.param(
            "legacy_app: a:app\nroutes: []\n",
            1,
            "the registry: required key 'modern_app' is missing.",
            id="top-level",
        ),
    ],
)
def test_missing_required_key(text: str, line: int, message: str) -> None:
    problem = only_problem(text)
    assert (problem.line, problem.message) == (line, message)


@pytest.mark.parametrize(
    "text",
    [pytest.param("", id="empty"), pytest.param("# nothing yet\n", id="comment-only")],
)
def test_empty_file_names_the_missing_apps(text: str) -> None:
    found = problems(text)
    assert [(p.line, p.message) for p in found] == [
        (1, "the registry: required key 'legacy_app' is missing."),
        (1, "the registry: required key 'modern_app' is missing."),
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("- legacy_app: a:app\n", 1, id="list"),
        pytest.param("legacy_flask:app\n", 1, id="scalar"),
        pytest.param("# the registry\n\n- a\n- b\n", 3, id="list-after-comments"),
    ],
)
def test_top_level_must_be_a_mapping(text: str, line: int) -> None:
    problem = only_problem(text)
    assert problem.line == line
    assert "must be a mapping with legacy_app, modern_app and routes" in problem.message


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        pytest.param("percent", "150", "routes[0].percent", id="percent-over-100"),
        pytest.param("sample", "2", "routes[0].sample", id="sample-over-1"),
        pytest.param("error_format", "xml", "routes[0].error_format", id="error-format"),
        pytest.param("retired", "maybe", "routes[0].retired", id="retired-not-bool"),
    ],
)
def test_bad_value_points_at_its_line(key: str, value: str, where: str) -> None:
    problem = only_problem(
        HEAD
        + "routes:\n"
        + "  - endpoint: e\n"
        + "    rule: /x\n"
        + "    methods: [GET]\n"
        + "    state: legacy\n"
        + f"    {key}: {value}\n"
    )
    assert problem.line == 8
    assert problem.message.startswith(f"{where}: ")
    assert value in problem.message


def test_bad_setting_points_at_its_line() -> None:
    problem = only_problem(HEAD + "settings:\n  bridge_threads: 0\n")
    assert problem.line == 4
    assert problem.message.startswith("settings.bridge_threads: ")


def test_every_problem_is_reported_in_line_order() -> None:
    with pytest.raises(RegistryError) as info:
        parse(
            HEAD
            + "routes:\n"
            + "  - {endpoint: a, rule: /a, methods: [GET], state: moderm}\n"
            + "  - {endpoint: b, rule: /b, methods: [GETT], state: legacy}\n"
            + "routs: []\n"
        )
    lines = [p.line for p in info.value.problems]
    assert lines == [4, 5, 6]
    text = str(info.value)
    assert text.startswith("invalid registry (3 problems):\n")
    assert "migration_status.yaml:4: " in text
    assert "migration_status.yaml:6: " in text


# --- check_routes: the registry against the apps ---------------------------------------


def make_flask() -> Flask:
    app = Flask(__name__)
    users = Blueprint("users", __name__, url_prefix="/users")

    @users.route("/<int:user_id>", methods=["GET", "PUT"])
    def get_user(user_id: int) -> str:
        return "user"

    @users.post("")
    def create_user() -> str:
        return "created"

    app.register_blueprint(users)

    @app.get("/pages/<any(about, help):name>")
    def page(name: str) -> str:
        return name

    @app.get("/tokens/<uuid:token>")
    def token(token: Any) -> str:
        return "token"

    @app.get("/files/<path:name>")
    def file(name: str) -> str:
        return name

    @app.get("/archive")
    @app.get("/archive/<int:year>")
    def archive(year: int = 0) -> str:
        return "archive"

    return app


def make_fastapi() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/users/{user_id}")
    def get_user(user_id: int) -> str:
        return "user"

    @app.post("/users")
    def create_user() -> str:
        return "created"

    @app.get("/pages/{name}")
    def page(name: str) -> str:
        return name

    @app.get("/tokens/{token}")
    def token(token: str) -> str:
        return token

    @app.get("/files/{name:path}")
    def file(name: str) -> str:
        return name

    @app.get("/archive")
    def archive_all() -> str:
        return "archive"

    @app.get("/archive/{year}")
    def archive(year: int) -> str:
        return "archive"

    return app


FLASK = legacy_routes(make_flask())
FASTAPI = modern_routes(make_fastapi())


def entry(
    endpoint: str, rule: str, methods: str = "[GET]", state: str = "legacy", **extra: str
) -> str:
    """One entry on one line, so that every key of entry i is on line 4 + i."""
    more = "".join(f", {key}: {value}" for key, value in extra.items())
    return (
        f'  - {{endpoint: {endpoint}, rule: "{rule}", methods: {methods}, state: {state}{more}}}\n'
    )


def check(*entries: str) -> list[Problem]:
    registry = parse(HEAD + "routes:\n" + "".join(entries))
    return check_routes(registry, FLASK, FASTAPI)


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, found
    return found[0]


def test_a_registry_that_matches_the_apps_has_no_problems() -> None:
    assert (
        check(
            entry("users.get_user", "/users/<int:user_id>", state="modern"),
            entry("users.get_user", "/users/<int:user_id>", "[PUT]"),
            entry("users.create_user", "/users", "[POST]", state="modern"),
            entry("page", "/pages/<any(about, help):name>", state="modern"),
            entry("token", "/tokens/<uuid:token>", state="modern"),
            entry("file", "/files/<path:name>", state="modern"),
            entry("archive", "/archive", state="modern"),
            entry("archive", "/archive/<int:year>", state="modern"),
        )
        == []
    )


def test_unknown_endpoint_names_sync() -> None:
    problem = only(
        check(
            entry("users.get_user", "/users/<int:user_id>"),
            entry("users.get_usr", "/users/<int:user_id>"),
        )
    )
    assert problem.line == 5
    assert problem.file == str(FILE)
    assert (
        "routes[1] (users.get_usr): endpoint 'users.get_usr' is not a route of legacy:app."
        in problem.message
    )
    assert "Did you mean 'users.get_user'?" in problem.message
    assert "`routeshift sync`" in problem.message


def test_unknown_endpoint_that_is_retired_is_fine() -> None:
    assert (
        check(
            entry("users.delete_user", "/users/<int:user_id>", "[DELETE]", retired="true"),
            entry("gone", "/gone", state="modern", retired="true"),
        )
        == []
    )


def test_rule_drift() -> None:
    problem = only(check(entry("users.get_user", "/users/<user_id>")))
    assert problem.line == 4
    assert "users.get_user has no rule '/users/<user_id>' in legacy:app" in problem.message
    assert "(its rules: '/users/<int:user_id>')" in problem.message
    assert "routeshift sync" in problem.message


def test_a_method_the_rule_does_not_serve() -> None:
    problem = only(check(entry("users.get_user", "/users/<int:user_id>", "[GET, DELETE, POST]")))
    assert problem.line == 4
    assert "/users/<int:user_id> does not serve DELETE, POST in legacy:app" in problem.message
    assert "(it serves GET, PUT)" in problem.message


@pytest.mark.parametrize(
    ("entries", "line", "first"),
    [
        pytest.param(
            [
                entry("users.get_user", "/users/<int:user_id>"),
                entry("users.create_user", "/users", "[POST]"),
                entry("users.get_user", "/users/<int:user_id>", "[PUT, GET]"),
            ],
            6,
            4,
            id="two-entries",
        ),
        pytest.param(
            [entry("users.get_user", "/users/<int:user_id>", "[GET, get]")],
            4,
            4,
            id="one-entry",
        ),
    ],
)
def test_the_same_route_and_method_twice(entries: list[str], line: int, first: int) -> None:
    problem = only(check(*entries))
    assert problem.line == line
    assert f"GET /users/<int:user_id> is listed twice (first at line {first})" in problem.message


def test_twice_in_block_style_gives_the_first_entry_line() -> None:
    registry = parse(
        HEAD
        + "routes:\n"
        + "  - endpoint: file\n"
        + "    rule: /files/<path:name>\n"
        + "    methods: [GET]\n"
        + "    state: legacy\n"
        + "  - endpoint: file\n"
        + "    rule: /files/<path:name>\n"
        + "    methods: [GET]\n"
        + "    state: legacy\n"
    )
    problem = only(check_routes(registry, FLASK, FASTAPI))
    assert problem.line == 10  # the methods of the second entry
    assert "(first at line 4)" in problem.message


def test_one_rule_split_by_method_over_two_entries_is_fine() -> None:
    assert (
        check(
            entry("users.get_user", "/users/<int:user_id>", "[GET]", state="modern"),
            entry("users.get_user", "/users/<int:user_id>", "[PUT]", state="legacy"),
        )
        == []
    )


def test_modern_without_a_modern_handler() -> None:
    modern = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @modern.get("/users/{uid}")
    def get_user(uid: int) -> str:
        return "user"

    registry = parse(
        HEAD + "routes:\n" + entry("users.get_user", "/users/<int:user_id>", state="modern")
    )
    problem = only(check_routes(registry, FLASK, modern_routes(modern)))
    assert problem.line == 4
    assert (
        "state is modern but modern:app has no handler for GET /users/{user_id}." in problem.message
    )
    assert "Did you mean '/users/{uid}'?" in problem.message
    assert "routeshift scaffold users.get_user" in problem.message


def test_modern_for_a_method_the_handler_lacks() -> None:
    problem = only(
        check(entry("users.get_user", "/users/<int:user_id>", "[GET, PUT]", state="modern"))
    )
    assert "no handler for PUT /users/{user_id}" in problem.message
    # a handler for PUT on another path would be the near name; there is none
    assert "Did you mean" not in problem.message


def test_legacy_state_needs_no_modern_handler() -> None:
    assert check(entry("users.get_user", "/users/<int:user_id>", "[PUT]")) == []


@pytest.mark.parametrize(
    ("endpoint", "rule"),
    [
        pytest.param("page", "/pages/<any(about, help):name>", id="any"),
        pytest.param("token", "/tokens/<uuid:token>", id="uuid"),
    ],
)
def test_any_and_uuid_rules_need_no_modern_path(endpoint: str, rule: str) -> None:
    assert check(entry(endpoint, rule, state="modern")) == []  # the handler at `{x}`
    problem = only(check(entry(endpoint, rule, state="modern", modern_path='"/elsewhere"')))
    assert "no handler for GET /elsewhere" in problem.message


def test_modern_path_must_name_a_handler() -> None:
    problem = only(
        check(
            entry(
                "page",
                "/pages/<any(about, help):name>",
                state="modern",
                modern_path='"/page/{name}"',
            )
        )
    )
    assert "no handler for GET /page/{name}." in problem.message
    assert "Did you mean '/pages/{name}'?" in problem.message


def test_problems_of_several_entries_each_have_their_line() -> None:
    found = check(
        entry("users.get_user", "/users/<int:user_id>", state="modern"),
        entry("nope", "/nope"),
        entry("users.create_user", "/user", "[POST]"),
        entry("page", "/pages/<any(about, help):name>", state="modern", modern_path='"/p/{name}"'),
    )
    assert [p.line for p in found] == [5, 6, 7]
    assert "'nope' is not a route" in found[0].message
    assert "has no rule '/user'" in found[1].message
    assert "modern_path" in found[2].message


def test_routes_with_no_value_says_how_to_write_none() -> None:
    text = "legacy_app: a:app\nmodern_app: b:app\nroutes:\n"
    with pytest.raises(RegistryError) as caught:
        parse_registry(text, Path("migration_status.yaml"))
    (problem,) = caught.value.problems
    assert problem.line == 3
    assert "`routes: []` for none" in problem.message


@pytest.mark.parametrize(
    ("key_lines", "line", "words"),
    [
        pytest.param("    ignore: [id]\n", 8, "is not a JSON pointer", id="ignore-pointer"),
        pytest.param("    normalise: [date]\n", 8, "Did you mean 'dates'?", id="normaliser"),
        pytest.param(
            "    accept:\n      - {what: stauts, legacy: 400, modern: 422, why: errors}\n",
            9,
            "Did you mean 'status'?",
            id="accept-what",
        ),
        pytest.param(
            "    accept:\n      - {what: status, legacy: 400, why: errors}\n",
            9,
            "required key 'modern' is missing",
            id="accept-needs-both-values",
        ),
    ],
)
def test_comparison_rules_are_checked_at_load(key_lines: str, line: int, words: str) -> None:
    text = (
        "legacy_app: a:app\nmodern_app: b:app\nroutes:\n  - endpoint: x\n    rule: /x\n"
        "    methods: [GET]\n    state: legacy\n" + key_lines
    )
    with pytest.raises(RegistryError) as caught:
        parse_registry(text, Path("migration_status.yaml"))
    (problem,) = caught.value.problems
    assert problem.line == line
    assert words in problem.message


def test_a_recursive_alias_is_an_error_at_its_line() -> None:
    text = "legacy_app: a:app\nmodern_app: b:app\nextra: &x [*x]\n"
    with pytest.raises(RegistryError) as caught:
        parse_registry(text, Path("migration_status.yaml"))
    (problem,) = caught.value.problems
    assert problem.line == 3
    assert "recursive alias" in problem.message


@pytest.mark.parametrize(
    ("redact", "words"),
    [
        pytest.param("['/a~b']", "'~' must be escaped", id="bad-pointer"),
        pytest.param("['']", "an empty name redacts nothing", id="empty"),
    ],
)
def test_bad_redact_entries_are_refused_at_their_line(redact: str, words: str) -> None:
    problem = only_problem(HEAD + "settings:\n  redact: " + redact + "\nroutes: []\n")
    assert problem.line == 4
    assert words in problem.message


def test_redact_takes_names_and_pointers() -> None:
    registry = parse(HEAD + "settings:\n  redact: [password, /user/*/ssn]\nroutes: []\n")
    assert registry.settings.redact == ("password", "/user/*/ssn")


@pytest.mark.parametrize(
    ("key", "value"),
    [("admin_prefix", "/"), ("admin_prefix", "_routeshift"), ("metrics_path", "metrics")],
)
def test_the_gateways_own_paths_are_below_the_root(key: str, value: str) -> None:
    problem = only_problem(HEAD + f"settings:\n  {key}: '{value}'\nroutes: []\n")
    assert problem.line == 4
    assert "must be a path below the root" in problem.message


# --- a registry of many entries: validated a chunk at a time ---------------------------


def _entries(count: int, bad: dict[int, str] | None = None) -> str:
    """`count` entries, three lines each after the head; `bad[i]` replaces entry i's state."""
    lines = [HEAD, "routes:\n"]
    for index in range(count):
        state = (bad or {}).get(index, "legacy")
        lines.append(
            f"  - endpoint: e{index}\n    rule: /r{index}\n    methods: [GET]\n    state: {state}\n"
        )
    return "".join(lines)


def test_a_registry_past_one_chunk_loads_as_one_validation_would() -> None:
    from routeshift.registry.load import ENTRY_CHUNK
    from routeshift.registry.model import RegistryModel
    from routeshift.registry.source import parse_yaml

    count = ENTRY_CHUNK * 2 + 7
    text = _entries(count)
    loaded = parse_registry(text, FILE)
    data, _ = parse_yaml(text, str(FILE))
    assert loaded.model == RegistryModel.model_validate(data)
    assert [e.endpoint for e in loaded.routes] == [f"e{i}" for i in range(count)]


def test_problems_past_the_first_chunk_have_their_own_lines() -> None:
    from routeshift.registry.load import ENTRY_CHUNK

    bad = {3: "moden", ENTRY_CHUNK + 1: "ported", 2 * ENTRY_CHUNK + 5: "lgacy"}
    found = problems(_entries(2 * ENTRY_CHUNK + 7, bad))
    # the head is 3 lines; entry i starts at line 4 + 4 * i, its state 3 lines below
    assert [(p.line, p.loc) for p in found] == [
        (4 + 4 * i + 3, ("routes", i, "state")) for i in sorted(bad)
    ]
    assert all("state" in p.message for p in found)
