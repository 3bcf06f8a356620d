"""A worker pool, concurrency and prefetch per kind of work, for what the environment and command line leave open.

Each contract says what its task spends its time on (``Contract.work``):

- ``"cpu"`` (the default): prefork, one process per task, hard and soft time limits
  enforced, a crash isolated in its child; one message reserved per process.
- ``"io"``: 16 threads; waiting on the network does not hold the GIL.
- ``"instant"``: solo, the task runs on the consumer's own thread with 64 messages
  reserved; each result is published without waiting for its confirm and the task's
  late ack follows the confirm (upstream.rpc.DeferredAcks); per-task "received" and
  "succeeded" log lines are left out (failures are still logged). A prefork pool
  spends more on handing a trivial task to a child process and back than on the task,
  and threads add a hand-off and lock contention (see benchmarks/PROFILE_NOTES.md).

A worker takes the profile that suits *every* contract it serves (its ``-Q`` queues,
else all of them): any ``cpu`` contract means prefork, otherwise any ``io`` means the io
profile. ``CELERY_TASKS_WORKER_POOL`` / ``_WORKER_CONCURRENCY`` / ``_PREFETCH_MULTIPLIER``
and the ``--pool`` / ``--concurrency`` / ``--prefetch-multiplier`` / ``--loglevel``
options always win. Acknowledgement stays late in every profile: a message is acked
only after its task ran and its result was confirmed by the broker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from celery import signals

from celery_tasks.models import WorkKind
from celery_tasks.runtime.upstream.worker import PER_TASK_LOGGERS, option_values
from celery_tasks.settings import TaskSettings


@dataclass(frozen=True)
class WorkProfile:
    """How a worker runs one kind of work."""

    pool: str
    concurrency: int | None
    prefetch_multiplier: int
    log_each_task: bool = True


#: The profile of each kind of work.
PROFILES: dict[str, WorkProfile] = {
    "cpu": WorkProfile("prefork", None, 1),
    "io": WorkProfile("threads", 16, 1),
    "instant": WorkProfile("solo", None, 64, log_each_task=False),
}


def served(contracts: Iterable[Any], argv: Sequence[str]) -> list[Any]:
    """The contracts whose queues a worker started with ``argv`` consumes."""
    contracts = list(contracts)
    queues = {name.strip() for value in option_values(argv, "-Q", "--queues") for name in value.split(",")}
    if not queues:
        return contracts
    return [contract for contract in contracts if contract.name in queues]


def kind_of_work(contracts: Iterable[Any]) -> WorkKind:
    """The kind of work that suits every contract: cpu beats io beats instant."""
    kinds = {getattr(contract, "work", "cpu") for contract in contracts}
    if not kinds or "cpu" in kinds:
        return "cpu"
    return "io" if "io" in kinds else "instant"


def work_options(contracts: Iterable[Any], settings: TaskSettings, argv: Sequence[str] = ()) -> list[str]:
    """Pool, concurrency and prefetch options for the served contracts' kind of work, where nothing else decides."""
    profile = PROFILES[kind_of_work(served(contracts, argv))]
    explicit = settings.model_fields_set
    options = []
    pool_given = "worker_pool" in explicit or bool(option_values(argv, "-P", "--pool"))
    if not pool_given and profile.pool != settings.worker_pool:
        options.append(f"--pool={profile.pool}")
    concurrency_given = "worker_concurrency" in explicit or bool(option_values(argv, "-c", "--concurrency"))
    if not pool_given and not concurrency_given and profile.concurrency is not None:
        options.append(f"--concurrency={profile.concurrency}")
    prefetch_given = "prefetch_multiplier" in explicit or bool(option_values(argv, "", "--prefetch-multiplier"))
    if not prefetch_given and profile.prefetch_multiplier != settings.prefetch_multiplier:
        options.append(f"--prefetch-multiplier={profile.prefetch_multiplier}")
    return options


def logs_each_task(contracts: Iterable[Any], argv: Sequence[str] = ()) -> bool:
    """Whether the worker logs a line per task (an explicit ``--loglevel`` keeps Celery's behaviour)."""
    if option_values(argv, "-l", "--loglevel"):
        return True
    return PROFILES[kind_of_work(served(contracts, argv))].log_each_task


def _quiet_per_task_logs(**_: Any) -> None:
    for name in PER_TASK_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def apply_work_profile(contracts: Iterable[Any], settings: TaskSettings, argv: Sequence[str] = ()) -> list[str]:
    """The worker options of the served contracts' kind of work; also quiets per-task log lines where it says so."""
    contracts = list(contracts)
    if not logs_each_task(contracts, argv):
        signals.after_setup_logger.connect(_quiet_per_task_logs, weak=False)
    return work_options(contracts, settings, argv)
