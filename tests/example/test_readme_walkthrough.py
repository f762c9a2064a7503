"""README's "Migrate a route", replayed: every command in its order, on a copy of the
example, each output checked against the README's block, as documentation tests do.

The section's blocks are read as a newcomer reads them:
- a `console` block: `$ command` lines, each followed by the output it prints (stdout and
  stderr together, as a terminal shows them). A command ending in `&` is the gateway,
  started in the background on a free port (`UVICORN_PORT`) and stopped at the end;
  `127.0.0.1:8000` in a command is that port.
- a `python` or `yaml` block whose first line is `# path/of/the/file`: the file, written.
- a `diff` block: an edit, applied with `git apply`.

Placeholders, for what varies from run to run: a date and time (`2026-12-02 08:10`,
seconds and an ISO `T` too) matches any other. Nothing else is loosened: counts, states,
columns, ids of cases and every line of every output are the README's.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECTION = "## Migrate a route"
#: what a copy of the example is: the apps, the gateway, the registry, the contracts
EXAMPLE = ("legacy_flask", "modern_api", "gateway.py", "migration_status.yaml", "pyproject.toml")
CONTRACTS = Path("tests") / "contracts"
#: the README's port, replaced by the one the replay's gateway listens on
README_HOST = "127.0.0.1:8000"
WHEN = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
#: the commands the walkthrough must show, in this order (issue 15, part 4)
JOURNEY = (
    "routeshift status",
    "routeshift scaffold ",
    "routeshift contract ",
    "--to shadow",
    "uvicorn gateway:app &",
    "routeshift diffs ",
    "/_routeshift/",
    "--to canary --percent 10",
    "--to modern",
    "routeshift rollback ",
)

pytestmark = pytest.mark.live


@dataclass(frozen=True)
class Step:
    kind: str  # "run", "write" or "apply"
    text: str  # the command, the file's path, or the diff
    expected: str = ""  # a command's output; a file's content
    line: int = 0  # where in README.md


def section(readme: str) -> tuple[str, int]:
    """The walkthrough's text and the README line it starts on."""
    start = readme.index(f"\n{SECTION}\n") + 1
    end = readme.find("\n## ", start + len(SECTION))
    return readme[start : end if end != -1 else None], readme.count("\n", 0, start) + 1


def steps(text: str, first_line: int) -> list[Step]:
    found: list[Step] = []
    for match in BLOCK.finditer(text):
        kind, body = match.group(1), match.group(2)
        line = first_line + text.count("\n", 0, match.start()) + 1
        if kind == "console":
            found += commands(body, line)
        elif kind == "diff":
            found.append(Step("apply", body, line=line))
        elif kind in ("python", "yaml") and body.startswith("# ") and "/" in body.split("\n")[0]:
            path = body.split("\n", 1)[0][2:].strip()
            found.append(Step("write", path, body, line))
    return found


def commands(block: str, line: int) -> Iterator[Step]:
    command: str | None = None
    output: list[str] = []
    at = line
    for number, text in enumerate(block.splitlines(), start=line + 1):
        if text.startswith("$ "):
            if command is not None:
                yield Step("run", command, "\n".join(output), at)
            command, output, at = text[2:], [], number
        else:
            output.append(text)
    if command is not None:
        yield Step("run", command, "\n".join(output), at)


def normalised(output: str) -> str:
    lines = [WHEN.sub("<when>", line).rstrip() for line in output.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the gateway exited with {server.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"the gateway did not listen on 127.0.0.1:{port} within 60 s:\n{log.read_text()}")


def copy_of_the_example(folder: Path) -> Path:
    project = folder / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.db", "*.db-wal", "*.db-shm")
    for name in EXAMPLE:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=ignore)
        else:
            project.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, project / name)
    contracts = project / CONTRACTS
    contracts.mkdir(parents=True)
    for case_file in (REPO / CONTRACTS).iterdir():
        if case_file.suffix == ".yaml" or case_file.name == "conftest.py":
            shutil.copy2(case_file, contracts / case_file.name)
    return project


def environment(port: int) -> dict[str, str]:
    """The newcomer's shell: this environment's bin first, no routeshift settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ROUTESHIFT_", "PYTEST_", "UVICORN_"))
        and key not in ("MIGRATION_STATUS", "DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR")
    }
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["UVICORN_PORT"] = str(port)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def test_the_walkthrough_has_every_step_of_the_journey() -> None:
    """The section shows each command the journey needs, in order, so a step cannot be
    dropped from the README while the replay still passes."""
    text, line = section((REPO / "README.md").read_text(encoding="utf-8"))
    run = [step.text for step in steps(text, line) if step.kind == "run"]
    position = 0
    for wanted in JOURNEY:
        later = [i for i, command in enumerate(run) if i >= position and wanted in command]
        assert later, f"{SECTION!r} has no command with {wanted!r} after the one before it"
        position = later[0] + 1
    written = [step.text for step in steps(text, line) if step.kind == "write"]
    assert any(path.startswith("modern_api/") for path in written)
    assert any(path.startswith("tests/contracts/") for path in written)


class Replay:
    """A newcomer's shell in the copy: files written, diffs applied, commands run."""

    def __init__(self, project: Path, scratch: Path) -> None:
        self.project = project
        self.scratch = scratch
        self.port = free_port()
        self.env = environment(self.port)
        self.host = f"127.0.0.1:{self.port}"
        self.servers: list[subprocess.Popen[bytes]] = []

    def step(self, step: Step) -> None:
        where = f"README.md:{step.line}"
        if step.kind == "write":
            target = self.project / step.text
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.expected + "\n", encoding="utf-8")
        elif step.kind == "apply":
            patch = self.scratch / "step.diff"
            patch.write_text(step.text + "\n", encoding="utf-8")
            applied = subprocess.run(
                ["git", "apply", str(patch)],
                cwd=self.project,
                capture_output=True,
                text=True,
                check=False,
            )
            assert applied.returncode == 0, f"{where}: the diff does not apply: {applied.stderr}"
        elif step.text.endswith("&"):
            self.serve(step.text[:-1].strip())
        else:
            printed, code = self.run(step.text.replace(README_HOST, self.host))
            got = normalised(printed.replace(self.host, README_HOST))
            want = normalised(step.expected)
            if got != want:
                lines = difflib.unified_diff(
                    want.splitlines(), got.splitlines(), "README", "printed", lineterm=""
                )
                changes = "\n".join(lines)
                pytest.fail(f"{where}: `{step.text}` printed otherwise (exit {code}):\n{changes}")

    def run(self, command: str) -> tuple[str, int]:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=self.project,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=180,
            check=False,
        )
        return done.stdout, done.returncode

    def serve(self, command: str) -> None:
        log = self.scratch / f"server-{len(self.servers)}.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                ["bash", "-c", f"exec {command}"],
                cwd=self.project,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.servers.append(server)
        wait_for(self.port, server, log)

    def close(self) -> None:
        for server in self.servers:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


@pytest.mark.skipif(
    shutil.which("curl") is None,
    reason="the README's commands send their traffic with curl, which is not installed "
    "(scripts/setup installs it with apt-get; or: apt-get install curl)",
)
def test_the_walkthrough_prints_what_the_readme_shows(tmp_path: Path) -> None:
    text, line = section((REPO / "README.md").read_text(encoding="utf-8"))
    replay = Replay(copy_of_the_example(tmp_path), tmp_path)
    try:
        for step in steps(text, line):
            replay.step(step)
    finally:
        replay.close()
