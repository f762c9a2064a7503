"""routeshift scaffold through click's CliRunner, on copies in tmp_path."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import SHOP_ROUTES, write_registry

import routeshift.cli.scaffold  # noqa: F401  (registers the command)
from routeshift.cli import main
from routeshift.prove.cases import load_cases

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Project:
    """A registry in tmp_path whose modern_app is a package made there."""

    folder: Path
    registry: Path
    package: str

    @property
    def contracts(self) -> Path:
        return self.folder / "contracts"

    def scaffold(self, *args: str) -> Any:
        return CliRunner().invoke(
            main, ["scaffold", "--registry", str(self.registry), *args], catch_exceptions=False
        )


def make_project(tmp_path: Path, *, routers: bool = True) -> Iterator[Project]:
    package = f"shopport_{uuid.uuid4().hex[:8]}"  # fresh in sys.modules for every test
    folder = tmp_path / package
    folder.mkdir()
    (folder / "__init__.py").write_text("from fixture_apps.fastapi_shop import app\n")
    if routers:
        (folder / "routers").mkdir()
        (folder / "routers" / "__init__.py").write_text("")
    registry = write_registry(
        tmp_path,
        [dict(r) for r in SHOP_ROUTES],
        modern_app=f"{package}:app",
        settings={"contracts_dir": "contracts"},
    )
    yield Project(tmp_path, registry, package)
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Project]:
    yield from make_project(tmp_path)


def test_writes_router_module_and_case_file(project: Project) -> None:
    result = project.scaffold("items.listing")
    assert result.exit_code == 0, result.output
    module = project.folder / project.package / "routers" / "items_listing.py"
    text = module.read_text()
    compile(text, str(module), "exec")
    assert "class ListingResponse(BaseModel):" in text
    assert "    items: list[int]\n    side: str\n" in text
    assert '@router.get("/items/")' in text
    cases = load_cases(project.contracts / "items.listing.yaml")
    assert [(c.id, c.method, c.path) for c in cases] == [("sample", "GET", "/items/")]
    assert f"from {project.package}.routers import items_listing" in result.output
    assert "app.include_router(items_listing.router)" in result.output
    assert "routeshift contract --route items.listing" in result.output
    assert "GET /items/ -> async def listing() -> ListingResponse" in result.output


def test_the_router_is_importable_into_the_app(project: Project) -> None:
    assert project.scaffold("items.listing").exit_code == 0
    from fastapi import FastAPI

    from routeshift.routes import modern_routes

    routers = __import__(f"{project.package}.routers.items_listing", fromlist=["router"])
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.include_router(routers.router)
    assert [(r.path, r.methods) for r in modern_routes(app)] == [("/items/", frozenset({"GET"}))]


def test_without_routers_package_the_module_goes_in_the_package(tmp_path: Path) -> None:
    for project in make_project(tmp_path, routers=False):
        result = project.scaffold("both", "--method", "GET")
        assert result.exit_code == 0, result.output
        assert (project.folder / project.package / "both.py").is_file()
        assert f"from {project.package} import both" in result.output


def test_existing_file_is_not_overwritten_without_force(project: Project) -> None:
    assert project.scaffold("items.listing").exit_code == 0
    module = project.folder / project.package / "routers" / "items_listing.py"
    module.write_text("# my port\n")
    result = project.scaffold("items.listing")
    assert result.exit_code == 1
    assert "items_listing.py exists" in result.output and "--force" in result.output
    assert module.read_text() == "# my port\n"
    result = project.scaffold("items.listing", "--force")
    assert result.exit_code == 0, result.output
    assert "class ListingResponse" in module.read_text()


def test_existing_case_file_is_read_and_kept(project: Project) -> None:
    project.contracts.mkdir()
    case_file = project.contracts / "items.item.yaml"
    text = (
        "cases:\n  - id: seven\n    path: /items/7\n  - id: post\n    method: POST\n"
        "    path: /items/8\n"
    )
    case_file.write_text(text)
    out = project.folder / "out" / "item.py"
    result = project.scaffold("items.item", "--out", str(out), "--method", "GET")
    assert result.exit_code == 0, result.output
    assert case_file.read_text() == text
    assert "read 1 case(s)" in result.output
    assert "is outside the app's package" in result.output  # out/ is not importable
    module = out.read_text()
    assert "200 application/json: seven" in module
    assert "    item_id: int\n" in module
    assert "post" not in module.split("class")[0]  # only the GET case was sent
    result = project.scaffold("items.item", "--out", str(out), "--method", "GET", "--force")
    assert result.exit_code == 0 and case_file.read_text() == text


def test_sample_is_sent_and_written_as_a_case(project: Project) -> None:
    out = project.folder / "price.py"
    result = project.scaffold("price", "--sample", "/prices/2.5?x=1", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "    amount: float\n" in out.read_text()
    (written,) = load_cases(project.contracts / "price.yaml")
    assert (written.path, dict(written.query)) == ("/prices/2.5", {"x": "1"})
    assert "import price" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["items.itme"], "Did you mean 'items.item'?", id="unknown-endpoint"),
        pytest.param(["items.item", "--method", "PUT"], "does not serve PUT", id="method"),
        pytest.param(["items.item", "--rule", "/items/<x>"], "has no rule", id="rule"),
        pytest.param(["both", "--sample", "users"], "give a path", id="sample-not-a-path"),
    ],
)
def test_bad_input_exits_2(project: Project, args: list[str], message: str) -> None:
    result = project.scaffold(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_bad_registry_exits_2_with_file_line(tmp_path: Path) -> None:
    path = write_registry(tmp_path, [dict(SHOP_ROUTES[0], state="moden")])
    result = CliRunner().invoke(main, ["scaffold", "items.item", "--registry", str(path)])
    assert result.exit_code == 2
    assert f"{path}:" in result.output and "Did you mean 'modern'?" in result.output


def test_app_that_fails_to_import_exits_2(tmp_path: Path) -> None:
    path = write_registry(tmp_path, [], modern_app="no_such_module_here:app")
    result = CliRunner().invoke(main, ["scaffold", "items.item", "--registry", str(path)])
    assert result.exit_code == 2
    assert "cannot import module 'no_such_module_here'" in result.output


def test_a_bad_case_file_exits_2(project: Project) -> None:
    project.contracts.mkdir()
    (project.contracts / "items.item.yaml").write_text("cases:\n  - id: x\n    pth: /items/1\n")
    result = project.scaffold("items.item", "--out", str(project.folder / "x.py"))
    assert result.exit_code == 2
    assert "items.item.yaml:3" in result.output


# --- the real example ---------------------------------------------------------------------


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the example's registry with its contracts folder in tmp_path, and a fresh
    database for the legacy app."""
    from legacy_flask.database import dispose_engines

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'example.db'}")
    text = (REPO / "migration_status.yaml").read_text(encoding="utf-8")
    registry = tmp_path / "migration_status.yaml"
    registry.write_text(text + "\nsettings:\n  contracts_dir: contracts\n", encoding="utf-8")
    (tmp_path / "contracts").mkdir()
    yield registry
    dispose_engines()


def test_example_auth_me_model_comes_from_legacys_real_answer(
    example: Path, tmp_path: Path
) -> None:
    case_file = tmp_path / "contracts" / "auth.me.yaml"
    case_file.write_text(
        "cases:\n"
        "  - id: logged-in\n"
        "    path: /me\n"
        "    session: {user_id: 1}\n"  # signed when the sample is sent
        "  - id: anonymous\n"
        "    path: /me\n",
        encoding="utf-8",
    )
    out = tmp_path / "auth_me.py"
    result = CliRunner().invoke(
        main, ["scaffold", "auth.me", "--registry", str(example), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    compile(text, str(out), "exec")
    model = text[text.index("class MeResponse(BaseModel):") : text.index("router =")]
    for line in ("age: int", "created_at: str", "email: str", "id: int", "name: str", "role: str"):
        assert f"    {line}\n" in model
    # no date helper of the example's own: the toolkit's way, Flask's provider
    assert "routeshift.compat.FlaskJSONResponse(model)" in model
    assert "async def me() -> MeResponse:" in text
    assert "200 application/json: logged-in" in text and "401 text/html: anonymous" in text
    assert "already answers GET /me" in result.output  # the example has ported it
    assert "from modern_api.routers import" not in result.output  # --out is elsewhere


def test_example_main_index_is_html_and_gets_a_case_file(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "index.py"
    result = CliRunner().invoke(
        main, ["scaffold", "main.index", "--registry", str(example), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert '@router.get("/", response_class=HTMLResponse)' in text
    assert "async def index() -> HTMLResponse:" in text
    (written,) = load_cases(tmp_path / "contracts" / "main.index.yaml")
    assert (written.id, written.method, written.path) == ("sample", "GET", "/")
