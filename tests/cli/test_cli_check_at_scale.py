"""routeshift check at scale: a registry of many problems is shown in at most 20 lines,
grouped by cause, and `--format json` lists every one; the nine-level alias bomb (the
"billion laughs") is refused in a real process, within a timeout."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner, Result
from conftest import SHOP_ROUTES, write_registry

import routeshift.cli.check  # noqa: F401  (registers the command)
from routeshift.cli import main

MORE = "(routeshift check --format json lists them all)"


def run(registry: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["check", "--registry", str(registry), *args])


def test_a_registry_of_200_problems_of_one_kind_is_one_line(tmp_path: Path) -> None:
    routes = [
        {"endpoint": f"view{i}", "rule": f"/v{i}", "methods": ["GET"], "state": "moden"}
        for i in range(200)
    ]
    registry = write_registry(tmp_path, routes)
    result = run(registry)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "error: invalid registry (200 problems):", lines[:3]
    assert len(lines) == 2, lines[:5]
    assert lines[1].startswith(f"  {registry}:8: routes[0].state: unknown state 'moden'.")
    assert lines[1].endswith("(199 more like it, at lines 13, 18, 23 and 196 more)"), lines[1]

    listed = run(registry, "--format", "json")
    assert listed.exit_code == 2
    document = json.loads(listed.stdout)
    assert document["ok"] is False
    assert document["counts"]["error"] == 200
    wheres = [finding["where"] for finding in document["findings"]]
    assert wheres == [f"{registry}:{8 + 5 * i}" for i in range(200)]
    assert all("unknown state 'moden'" in f["message"] for f in document["findings"])


def test_many_findings_are_grouped_and_cut_at_twenty_lines(tmp_path: Path) -> None:
    gone = [
        {"endpoint": f"gone{i}", "rule": f"/gone/{i}", "methods": ["GET"], "state": "legacy"}
        for i in range(30)
    ]
    shop = [dict(route, state="legacy") for route in SHOP_ROUTES]
    for route in shop:
        route.pop("modern_path", None)
    registry = write_registry(tmp_path, shop + gone)
    table = run(registry)
    listed = run(registry, "--format", "json")
    assert table.exit_code == listed.exit_code == 1, table.output
    findings = json.loads(listed.stdout)["findings"]
    vanished = [f for f in findings if f["code"] == "vanished"]
    assert len(vanished) == 30, findings
    lines = table.stdout.splitlines()
    assert len(lines) <= 20 + 1, lines
    grouped = [line for line in lines if "gone0" in line]
    assert len(grouped) == 1, lines
    assert "(29 more like it, at " in grouped[0], grouped
    assert not any("gone7" in line for line in lines), lines
    assert lines[-1].startswith("check failed: "), lines[-1]


def test_unknown_keys_of_any_name_are_one_line(tmp_path: Path) -> None:
    # 25 different key names, one cause: the "and N more" tail is in tests/registry
    routes = [
        {"endpoint": f"view{i}", "rule": f"/v{i}", "methods": ["GET"], "state": "legacy"}
        | {f"{'k' * (i + 1)}": 1}
        for i in range(25)
    ]
    registry = write_registry(tmp_path, routes)
    result = run(registry)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "error: invalid registry (25 problems):"
    # unknown keys of any name share a cause: one line
    assert len(lines) == 2 and "(24 more like it, at lines " in lines[1], lines


def test_the_billion_laughs_is_refused_in_a_real_process(tmp_path: Path) -> None:
    lines = [
        "legacy_app: fixture_apps.flask_shop:app",
        "modern_app: fixture_apps.fastapi_shop:app",
        "lol0: &a0 [x, x, x, x, x, x, x, x, x]",
    ]
    lines += [f"lol{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]" for k in range(1, 9)]
    registry = tmp_path / "migration_status.yaml"
    registry.write_text("\n".join([*lines, "routes: []"]) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "routeshift", "check", "--registry", str(registry)]
    started = time.perf_counter()
    # without the guard this runs past 20 s (PyYAML expands 387 million values)
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    took = time.perf_counter() - started
    said = f"(the whole process took {took:.2f} s): {done.stderr}"
    assert done.returncode == 2, said
    assert f"{registry}:8: the file repeats its aliases" in done.stderr, said
    assert "stand for 490,329,036 nodes" in done.stderr, said
    assert "routeshift refuses more than 100,000" in done.stderr, said
