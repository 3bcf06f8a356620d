"""Diagnostic contracts: a round trip, a sleep and a crash, for smoke tests, benchmarks and fault drills."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from celery_tasks.contract import Contract
from celery_tasks.models import ContractArgs, ContractProgress, ContractResult

IMPLEMENTED_BY = "the consumer-diagnostics service"


class EchoArgs(ContractArgs):
    """What to send back."""

    text: str = Field(max_length=100_000)
    number: int = 0


class EchoResult(ContractResult):
    """The same values, and which worker answered."""

    text: str
    number: int
    worker: str


class Echo(Contract[EchoArgs, EchoResult]):
    """Return the arguments unchanged: the cheapest possible round trip."""

    name = "diagnostics.echo"
    version = 1
    implemented_by = IMPLEMENTED_BY
    work = "instant"  # a worker serving only this queue runs the instant profile (pools.py)
    Args = EchoArgs
    Result = EchoResult


class SleepArgs(ContractArgs):
    """How long to sleep, and where to record the run."""

    seconds: float = Field(ge=0, le=3600)
    marker: str | None = Field(None, description="File that receives a line when the task starts and ends.")


class SleepResult(ContractResult):
    """How long the task actually slept."""

    slept: float
    worker: str


class SleepProgress(ContractProgress):
    """Seconds slept so far, out of the seconds asked for."""

    slept: float = Field(ge=0)
    seconds: float = Field(ge=0)


class Sleep(Contract[SleepArgs, SleepResult]):
    """Sleep for a while: for time limits, shutdown and redelivery drills."""

    name = "diagnostics.sleep"
    version = 1
    implemented_by = IMPLEMENTED_BY
    Args = SleepArgs
    Progress = SleepProgress
    Result = SleepResult


class CrashArgs(ContractArgs):
    """How to fail."""

    mode: Literal["raise", "exit"] = "raise"
    message: str = "requested failure"


class CrashResult(ContractResult):
    """Never returned: the task always fails."""

    ok: bool


class Crash(Contract[CrashArgs, CrashResult]):
    """Fail on purpose: raise an error, or kill the worker process running it."""

    name = "diagnostics.crash"
    version = 1
    implemented_by = IMPLEMENTED_BY
    Args = CrashArgs
    Result = CrashResult


class RecordArgs(ContractArgs):
    """A business key whose side effect must happen exactly once, and how long to work before it."""

    key: str = Field(min_length=1, max_length=200, description="Idempotency key of the side effect.")
    seconds: float = Field(0.0, ge=0, le=3600, description="Work time before the side effect.")
    redelivered_seconds: float | None = Field(
        None, ge=0, le=3600, description="Work time instead of `seconds` when the message is a redelivery."
    )
    ignore_soft_limit: bool = Field(False, description="Keep working past the soft time limit (to reach the hard one).")


class RecordResult(ContractResult):
    """Whether this run made the side effect, and how often the key has run."""

    key: str
    first: bool
    runs: int
    worker: str


class Record(Contract[RecordArgs, RecordResult]):
    """Record a side effect exactly once per key in the worker's ledger: for fault drills and soaks."""

    name = "diagnostics.record"
    version = 1
    implemented_by = IMPLEMENTED_BY
    Args = RecordArgs
    Result = RecordResult


CONTRACTS = (Echo, Sleep, Crash, Record)
