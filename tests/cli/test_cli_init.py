"""`routeshift init`: a project's Flask app found as the `flask` command finds it, the
files of a migration written once, and every failure said with where it looked."""

from __future__ import annotations

import itertools
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from routeshift.cli import main
from routeshift.registry.load import load_registry

_names = itertools.count()

APP = """
from flask import Blueprint, Flask, jsonify

bp = Blueprint("items", __name__, url_prefix="/items")


@bp.get("/")
def listing():
    return jsonify([])


@bp.route("/<int:item_id>", methods=["GET", "PUT", "DELETE"])
def item(item_id):
    return jsonify(id=item_id)


def build():
    app = Flask(__name__)
    app.register_blueprint(bp)

    @app.get("/")
    def index():
        return "hello"

    return app
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty project folder, the working directory; its modules forgotten after."""
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("FLASK_APP", raising=False)
    monkeypatch.delenv("MIGRATION_STATUS", raising=False)
    monkeypatch.delenv("ROUTESHIFT_REGISTRY", raising=False)
    before = set(sys.modules)
    path = list(sys.path)
    yield folder
    for name in set(sys.modules) - before:
        del sys.modules[name]
    sys.path[:] = path


def unique(stem: str) -> str:
    """A module name no other test has imported."""
    return f"{stem}{next(_names)}"


def init(*args: str) -> Result:
    return CliRunner().invoke(main, ["init", *args])


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text))


def test_app_py_with_an_app_object(project: Path) -> None:
    write(project, "app.py", APP + "\napp = build()\n")
    result = init()
    assert result.exit_code == 0, result.output
    assert "the legacy app is app:app (found by app.py); 3 routes." in result.output
    data = yaml.safe_load((project / "migration_status.yaml").read_text())
    assert data["legacy_app"] == "app:app"
    assert data["modern_app"] == "modern_api:app"
    assert [(r["endpoint"], r["rule"], r["methods"], r["state"]) for r in data["routes"]] == [
        ("items.listing", "/items/", ["GET"], "legacy"),
        ("items.item", "/items/<int:item_id>", ["GET", "PUT", "DELETE"], "legacy"),
        ("index", "/", ["GET"], "legacy"),
    ]
    text = (project / "migration_status.yaml").read_text()
    assert "# --- blueprint items" in text and "# --- the app's own routes" in text
    assert "state: legacy (Flask serves it)" in text  # the states, explained
    for written in ("gateway.py", "modern_api/__init__.py", "tests/contracts/conftest.py"):
        assert f"written   {written}" in result.output
    assert (
        "uvicorn gateway:app" in result.output and "routeshift scaffold ENDPOINT" in result.output
    )
    # what init wrote is what the gateway and the commands load
    check = CliRunner().invoke(main, ["check"])
    assert check.exit_code == 0, check.output
    assert "from routeshift import app_from_environment" in (project / "gateway.py").read_text()


@pytest.mark.parametrize(
    ("flask_app", "expected"),
    [
        pytest.param("{pkg}", "{pkg}:build()", id="module-with-factory"),
        pytest.param("{pkg}:build()", "{pkg}:build()", id="factory-call"),
        pytest.param("{pkg}/__init__.py", "{pkg}:build()", id="file-path"),
    ],
)
def test_flask_app_from_the_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch, flask_app: str, expected: str
) -> None:
    pkg = unique("shop")
    # Flask's factory names are create_app and make_app; `build` is found only by name
    source = APP.replace("def build():", "def create_app():") if ":" not in flask_app else APP
    write(project, f"{pkg}/__init__.py", source)
    if ":" not in flask_app:
        expected = expected.replace("build()", "create_app()")
    monkeypatch.setenv("FLASK_APP", flask_app.format(pkg=pkg))
    result = init()
    assert result.exit_code == 0, result.output
    assert f"is {expected.format(pkg=pkg)} (found by FLASK_APP)" in result.output
    assert load_registry(project / "migration_status.yaml").model.legacy_app == expected.format(
        pkg=pkg
    )


def test_wsgi_py_comes_before_app_py(project: Path) -> None:
    write(project, "wsgi.py", APP + "\napplication = build()\n")
    write(project, "app.py", "raise RuntimeError('not this one')\n")
    result = init()
    assert result.exit_code == 0, result.output
    assert "wsgi:application (found by wsgi.py)" in result.output


def test_legacy_option_and_an_existing_modern_app(project: Path) -> None:
    pkg, modern = unique("shop"), unique("fast")
    write(project, f"{pkg}.py", APP)
    write(project, f"{modern}.py", "from fastapi import FastAPI\n\napi = FastAPI()\n")
    result = init("--legacy", f"{pkg}:build()", "--modern", f"{modern}:api")
    assert result.exit_code == 0, result.output
    assert not (project / "modern_api").exists()
    assert load_registry(project / "migration_status.yaml").model.modern_app == f"{modern}:api"


def test_no_app_says_where_it_looked(project: Path) -> None:
    result = init()
    assert result.exit_code == 2
    assert "FLASK_APP is not set" in result.output
    assert f"{project.resolve()} has neither wsgi.py nor app.py" in result.output
    assert "--legacy" in result.output
    assert not (project / "migration_status.yaml").exists()


def test_an_app_that_fails_to_import_gives_its_file_and_line(project: Path) -> None:
    write(project, "app.py", "from flask import Flask\n\napp = Flask(__name__)\n1 / 0\n")
    result = init()
    assert result.exit_code == 2
    assert "ZeroDivisionError" in result.output
    assert f"{project.resolve() / 'app.py'}:4" in result.output


def test_a_module_without_an_app_says_so(project: Path) -> None:
    write(project, "app.py", "VALUE = 1\n")
    result = init()
    assert result.exit_code == 2
    assert "Failed to find Flask application or factory in module 'app'" in result.output


def test_init_twice_changes_nothing_and_never_overwrites(project: Path) -> None:
    write(project, "app.py", APP + "\napp = build()\n")
    assert init().exit_code == 0
    texts = {p: p.read_text() for p in project.rglob("*") if p.is_file() and p.suffix != ".pyc"}
    again = init()
    assert again.exit_code == 0, again.output
    assert "found by migration_status.yaml" in again.output
    assert again.output.count("unchanged ") == 4
    registry = project / "migration_status.yaml"
    registry.write_text(registry.read_text().replace("state: legacy", "state: shadow", 1))
    (project / "gateway.py").write_text("# mine\n")
    kept = init()
    assert kept.exit_code == 0, kept.output
    assert "kept      migration_status.yaml" in kept.output and "routeshift sync" in kept.output
    assert "kept      gateway.py" in kept.output
    assert (project / "gateway.py").read_text() == "# mine\n"
    assert "state: shadow" in registry.read_text()
    forced = init("--force")
    assert "replaced  migration_status.yaml" in forced.output
    assert "replaced  gateway.py" in forced.output
    assert {p: p.read_text() for p in texts} == texts


def test_fastapis_docs_step_aside_for_legacy_routes_at_their_paths(project: Path) -> None:
    write(project, "app.py", APP.replace('"/items"', '"/items"') + "\napp = build()\n"
          "app.add_url_rule('/docs', 'docs', lambda: 'legacy docs')\n")  # fmt: skip
    result = init()
    assert result.exit_code == 0, result.output
    modern = (project / "modern_api" / "__init__.py").read_text()
    assert "docs_url=None" in modern and "openapi_url" not in modern.split("FastAPI(")[1]


def test_sync_without_a_registry_points_at_init(project: Path) -> None:
    result = CliRunner().invoke(main, ["sync"])
    assert result.exit_code == 2
    assert "routeshift init" in result.output


def test_a_rule_without_a_view_is_not_a_route_of_the_migration(project: Path) -> None:
    """flaskr's `add_url_rule("/", endpoint="index")` gives url_for a name and serves
    nothing (blog.index answers /): no port could be proven for it, so it is not listed
    and not counted, like the static files."""
    write(project, "app.py", APP + "\napp = build()\napp.add_url_rule('/home', endpoint='home')\n")
    result = init()
    assert result.exit_code == 0, result.output
    assert "3 routes." in result.output
    assert "home" not in (project / "migration_status.yaml").read_text()
    status = CliRunner().invoke(main, ["status", "--format", "json"])
    assert status.exit_code == 0, status.output
    assert '"home"' not in status.output
    check = CliRunner().invoke(main, ["check"])
    assert check.exit_code == 0, check.output
