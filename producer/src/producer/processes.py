"""Start console entry points as their own process groups and stop them all, whatever happens."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

from producer.errors import DemoError


def entry_point(name: str) -> str:
    """Path of a console entry point installed beside this interpreter (or on PATH)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise DemoError(f"console entry point {name!r} is not installed (run `make bootstrap`)")
    return found


@contextlib.contextmanager
def ignore_interrupts() -> Iterator[None]:
    """Ignore Ctrl-C while cleaning up (a second Ctrl-C must not leave processes behind)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Service:
    """One started process in its own session (so its pool children can be stopped with it), logging to a file."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            list(argv),
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def running(self) -> bool:
        """True while the main process has not exited."""
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the process wrote."""
        self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def terminate(self) -> None:
        """Ask the main process to stop (a Celery worker finishes its running tasks)."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the whole process group, leftovers included."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def close(self) -> None:
        """Close the log file."""
        self._log.close()


class ServiceGroup:
    """Services started together and always stopped together: SIGTERM, a grace period, then SIGKILL."""

    def __init__(self, grace: float = 20.0) -> None:
        self.grace = grace
        self.services: list[Service] = []

    def __enter__(self) -> ServiceGroup:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, name: str, argv: Sequence[str], env: dict[str, str], log_path: Path) -> Service:
        """Start one service and keep track of it."""
        service = Service(name, argv, env, log_path)
        self.services.append(service)
        return service

    def stop(self) -> None:
        """Stop every service: all get SIGTERM at once, stragglers get SIGKILL after the grace period."""
        with ignore_interrupts():
            self._stop()

    def _stop(self) -> None:
        for service in self.services:
            service.terminate()
        deadline = time.monotonic() + self.grace
        for service in self.services:
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            service.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(timeout=5)
            service.close()
        self.services.clear()

    def check_alive(self) -> None:
        """Raise DemoError naming the first service that exited, with the end of its log."""
        for service in self.services:
            if not service.running:
                raise DemoError(
                    f"{service.name} exited with code {service.process.returncode}; "
                    f"end of {service.log_path}:\n{service.log_tail()}"
                )
