"""Implementations of the diagnostic contracts."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from celery_tasks.tasks import diagnostics

from consumer_diagnostics.errors import RequestedFailure

WORKER = socket.gethostname()


def _mark(marker: str | None, line: str) -> None:
    if marker:
        with Path(marker).open("a", encoding="utf-8") as handle:
            handle.write(f"{line} {os.getpid()}\n")


class Echo(diagnostics.Echo):
    """Send the arguments back."""

    def run(self, args: diagnostics.EchoArgs) -> diagnostics.EchoResult:
        """Return the text and number unchanged."""
        return diagnostics.EchoResult(text=args.text, number=args.number, worker=WORKER)


class Sleep(diagnostics.Sleep):
    """Sleep, recording start, end and soft-time-limit cleanup in the marker file."""

    def run(self, args: diagnostics.SleepArgs) -> diagnostics.SleepResult:
        """Sleep for the requested time."""
        started = time.monotonic()
        _mark(args.marker, f"start {self.request.id}")
        try:
            time.sleep(args.seconds)
        except SoftTimeLimitExceeded:
            _mark(args.marker, f"cleanup {self.request.id}")
            raise
        _mark(args.marker, f"end {self.request.id}")
        return diagnostics.SleepResult(slept=time.monotonic() - started, worker=WORKER)


class Crash(diagnostics.Crash):
    """Fail as asked."""

    def run(self, args: diagnostics.CrashArgs) -> diagnostics.CrashResult:
        """Raise, or end the process without cleanup."""
        if args.mode == "exit":
            os._exit(13)
        raise RequestedFailure(args.message)


CONTRACTS = (Echo, Sleep, Crash)
