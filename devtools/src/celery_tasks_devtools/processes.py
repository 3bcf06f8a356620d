"""The one process runner: console entry points started in their own sessions, logging to files, always stopped."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType

from celery_tasks_devtools.errors import EntryPointNotFound, ServiceExited


def entry_point(name: str) -> str:
    """Path of a console entry point installed beside the running interpreter (or on PATH)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise EntryPointNotFound(f"console entry point {name!r} is not installed (run `make bootstrap`)")
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


class ServiceProcess:
    """A command started as its own process in its own session (pool children stop with it), logging to a file."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path,
        *,
        name: str | None = None,
        cwd: str | Path | None = None,
    ) -> None:
        self.argv = list(argv)
        self.name = name or Path(self.argv[0]).name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """Process id of the service's main process."""
        return self.process.pid

    @property
    def running(self) -> bool:
        """True while the main process has not exited."""
        return self.process.poll() is None

    def log_text(self) -> str:
        """Everything the process has written so far."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_output(self, text: str, timeout: float = 60.0) -> str:
        """The log once it holds ``text``; ServiceExited if the process ends first, TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log_text()
            if text in log:
                return log
            if not self.running:
                raise ServiceExited(f"{self.name} exited with code {self.process.returncode} before writing {text!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.name} did not write {text!r} within {timeout:.0f} s; end of its log:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the process wrote."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def signal(self, signum: int) -> None:
        """Send a signal to the main process only."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signum)

    def terminate(self) -> None:
        """Ask the main process to stop (a Celery worker finishes its running tasks)."""
        self.signal(signal.SIGTERM)

    def kill_group(self, wait: float | None = 30.0) -> None:
        """SIGKILL the process and all its children (its own session), then wait ``wait`` seconds for it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if wait is not None:
            self.process.wait(timeout=wait)

    def close(self) -> None:
        """Close the log file."""
        self._log.close()

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, wait, then SIGKILL the whole group if it will not stop; returns the exit code."""
        if self.running:
            self.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill_group()
        self.kill_group(wait=None)  # leftover pool children
        self.close()
        return int(self.process.returncode)


def stop_together(services: Sequence[ServiceProcess], grace: float) -> None:
    """Stop services side by side: SIGTERM to all at once, SIGKILL to each group still there after ``grace`` s.

    Stopping them one after the other would add up their shutdown times.
    """
    for service in services:
        service.terminate()
    deadline = time.monotonic() + grace
    for service in services:
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        service.kill_group(wait=None)  # a worker that would not stop, or leftover pool children
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.process.wait(timeout=5)
        service.close()


class ServiceGroup:
    """Services started together and always stopped together: SIGTERM, a grace period, then SIGKILL."""

    def __init__(self, grace: float = 20.0) -> None:
        self.grace = grace
        self.services: list[ServiceProcess] = []

    def __enter__(self) -> ServiceGroup:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path) -> ServiceProcess:
        """Start one service and keep track of it."""
        service = ServiceProcess(argv, env, log_path, name=name)
        self.services.append(service)
        return service

    def stop(self) -> None:
        """Stop every service: all get SIGTERM at once, stragglers get SIGKILL after the grace period."""
        with ignore_interrupts():
            self._stop()

    def _stop(self) -> None:
        stop_together(self.services, self.grace)
        self.services.clear()

    def check_alive(self) -> None:
        """Raise ServiceExited naming the first service that exited, with the end of its log."""
        for service in self.services:
            if not service.running:
                raise ServiceExited(
                    f"{service.name} exited with code {service.process.returncode}; "
                    f"end of {service.log_path}:\n{service.log_tail()}"
                )
