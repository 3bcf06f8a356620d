"""Implementations of the diagnostic contracts."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from celery_tasks.tasks import diagnostics

from consumer_diagnostics.errors import LedgerNotConfigured, RequestedFailure
from consumer_diagnostics.ledger import Ledger
from consumer_diagnostics.settings import DiagnosticsSettings

WORKER = socket.gethostname()
#: Seconds between two progress reports of diagnostics.sleep.
PROGRESS_EVERY = 0.5


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
            self._sleep_reporting(started, args.seconds)
        except SoftTimeLimitExceeded:
            _mark(args.marker, f"cleanup {self.request.id}")
            raise
        _mark(args.marker, f"end {self.request.id}")
        return diagnostics.SleepResult(slept=time.monotonic() - started, worker=WORKER)

    def _sleep_reporting(self, started: float, seconds: float) -> None:
        """Sleep, reporting the seconds slept every PROGRESS_EVERY seconds (sleeps under it report nothing)."""
        end = started + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, PROGRESS_EVERY))
            if seconds >= PROGRESS_EVERY and time.monotonic() < end:
                self.report_progress(slept=round(time.monotonic() - started, 3), seconds=seconds)


class Crash(diagnostics.Crash):
    """Fail as asked."""

    def run(self, args: diagnostics.CrashArgs) -> diagnostics.CrashResult:
        """Raise, or end the process without cleanup."""
        if args.mode == "exit":
            os._exit(13)
        raise RequestedFailure(args.message)


_ledgers: dict[Path, Ledger] = {}


def _ledger() -> Ledger:
    """The ledger named by DIAGNOSTICS_LEDGER_PATH, opened once per process."""
    path = DiagnosticsSettings().ledger_path
    if path is None:
        raise LedgerNotConfigured("diagnostics.record needs DIAGNOSTICS_LEDGER_PATH set on the worker")
    if path not in _ledgers:
        _ledgers[path] = Ledger(path)
    return _ledgers[path]


class Record(diagnostics.Record):
    """Work for a while, then store the key's side effect once, logging every run in the ledger."""

    def run(self, args: diagnostics.RecordArgs) -> diagnostics.RecordResult:
        """Log the start, work (logging soft-limit cleanup), then store the effect unless already stored."""
        ledger = _ledger()
        task_id = self.request.id
        redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
        runs = ledger.run(args.key, task_id, "start", redelivered=redelivered)
        seconds = args.redelivered_seconds if redelivered and args.redelivered_seconds is not None else args.seconds
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                time.sleep(remaining)
            except SoftTimeLimitExceeded:
                ledger.run(args.key, task_id, "cleanup", redelivered=redelivered)
                if not args.ignore_soft_limit:
                    raise
        first = ledger.effect(args.key, task_id)
        return diagnostics.RecordResult(key=args.key, first=first, runs=runs, worker=WORKER)


CONTRACTS = (Echo, Sleep, Crash, Record)
