"""Real servers as subprocesses for the tests that start them (uvicorn, gunicorn,
hypercorn): a free port of 127.0.0.1, a process group of their own (workers included), the
output in a log file, a bounded wait until they answer, and a stop that leaves nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

#: seconds a server may take to answer after its start
START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """`argv` started in its own process group, stdout and stderr into `log`."""

    def __init__(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path, port: int
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_until_up(
        self,
        probe: Callable[[], object],
        errors: tuple[type[BaseException], ...] = (OSError,),
        interval: float = 0.05,
    ) -> None:
        """Until `probe()` returns without one of `errors`; fails when the server exits
        or does not answer within START_SECONDS, with its output."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited:\n{self.output()}")
            with contextlib.suppress(*errors):
                probe()
                return
            time.sleep(interval)
        raise AssertionError(f"no answer within {START_SECONDS} s:\n{self.output()}")

    def accepts(self) -> None:
        """A probe: the port takes a connection."""
        socket.create_connection(("127.0.0.1", self.port)).close()

    def stop(self) -> None:
        """SIGTERM to the whole group (a clean shutdown), then SIGKILL to what is left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)
