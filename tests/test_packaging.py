"""The plain install, as a user's project gets it: the wheel built from this tree,
installed into a fresh virtual environment that has pytest and nothing else.

- the wheel ships the routeshift package only (not the example apps) and py.typed;
- routeshift's pytest11 plugin is loaded in the user's own test run, which passes with
  `-W error` and hears nothing from routeshift, also beside a migration_status.yaml that
  is not routeshift's;
- `routeshift contract` runs the example's cases from that environment, on a copy of
  the example;
- generated cases without the `generate` extra fail with the extra's name.

Marked `packaging`: it builds and installs from PyPI (a minute or two, bounded below).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT = 600
RUN_TIMEOUT = 180


def run(
    *args: str | Path, cwd: Path, timeout: float = RUN_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "MIGRATION_STATUS"))}
    env.pop("ROUTESHIFT_REGISTRY", None)
    env.pop("ROUTESHIFT_STORE_URL", None)
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, REPO,
        cwd=out, timeout=INSTALL_TIMEOUT,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("routeshift-*.whl")
    return found


@pytest.fixture(scope="module")
def fresh_env(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with pytest and the wheel (and what the wheel depends on), nothing else."""
    folder = tmp_path_factory.mktemp("env") / "venv"
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    installed = run(
        python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "pytest", wheel,
        cwd=folder, timeout=INSTALL_TIMEOUT,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    return folder / "bin"


def test_the_wheel_ships_routeshift_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"routeshift"}
    assert "routeshift/py.typed" in names
    assert "routeshift/prove/pytest_plugin.py" in names
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    requires = [
        line
        for line in zipfile.ZipFile(wheel).read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist:")
    ]
    plain = [line for line in requires if "extra ==" not in line]
    # the gateway, the CLI and `routeshift contract` come with the plain install
    for needed in ("httpx", "pytest", "a2wsgi", "fastapi", "flask", "uvicorn"):
        assert any(line.split()[1].startswith(needed) for line in plain), needed
    # generation is an extra
    assert not any("hypothesis" in line for line in plain)
    assert any("hypothesis" in line and "extra == 'generate'" in line for line in requires)


USERS_TESTS = """
    import json


    def test_their_own_code():
        assert json.loads("[1]") == [1]
"""


@pytest.mark.parametrize(
    "stray_registry",
    [
        pytest.param(None, id="no-registry"),
        pytest.param("migrations: [001_init.sql]\n", id="someone-elses-migration-status"),
    ],
)
def test_a_users_test_run_is_untouched(
    fresh_env: Path, tmp_path: Path, stray_registry: str | None
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_theirs.py").write_text(textwrap.dedent(USERS_TESTS))
    if stray_registry is not None:
        (project / "migration_status.yaml").write_text(stray_registry)
    result = run(fresh_env / "python", "-m", "pytest", "-W", "error", "-p", "no:cacheprovider",
                 cwd=project)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert "warning" not in result.stdout.lower()
    # the plugin is loaded, and says something only when it found a registry it cannot read
    plugins = run(fresh_env / "python", "-m", "pytest", "--co", "-q", "--trace-config",
                  cwd=project)  # fmt: skip
    assert "routeshift" in plugins.stdout
    mentions = [
        line
        for line in result.stdout.splitlines()
        if "routeshift" in line and not line.startswith("plugins:")
    ]
    if stray_registry is None:
        assert mentions == []
    else:
        assert mentions and "no contract cases are collected" in mentions[0]


def example_copy(folder: Path) -> Path:
    for name in ("legacy_flask", "modern_api"):
        shutil.copytree(REPO / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "migration_status.yaml", folder / "migration_status.yaml")
    contracts = folder / "tests" / "contracts"
    contracts.mkdir(parents=True)
    for path in (REPO / "tests" / "contracts").iterdir():
        if path.suffix in (".yaml", ".py"):
            shutil.copy(path, contracts / path.name)
    return folder


def test_routeshift_contract_runs_from_the_plain_install(fresh_env: Path, tmp_path: Path) -> None:
    example = example_copy(tmp_path / "example")
    result = run(fresh_env / "routeshift", "contract", "--route", "main.slow", cwd=example)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "main.slow::done" in result.stdout
    assert ", 0 failed" in result.stdout
    status = run(fresh_env / "routeshift", "status", "--format", "json", cwd=example)
    assert status.returncode == 0, status.stderr
    assert '"main.slow"' in status.stdout


def test_generated_cases_name_the_extra_they_need(fresh_env: Path, tmp_path: Path) -> None:
    result = run(fresh_env / "python", "-c", "import routeshift.prove.generated", cwd=tmp_path)
    assert result.returncode != 0
    assert "routeshift.errors.GenerateError" in result.stderr
    assert "pip install 'routeshift[generate]'" in result.stderr


def test_import_routeshift_is_cheap(fresh_env: Path, tmp_path: Path) -> None:
    """The top-level names load on first use: importing the package imports no app."""
    code = (
        "import sys, routeshift\n"
        "heavy = {'fastapi', 'flask', 'sqlalchemy', 'httpx', 'uvicorn'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert routeshift.Harness.__module__ == 'routeshift.prove.harness'\n"
    )
    result = run(fresh_env / "python", "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
