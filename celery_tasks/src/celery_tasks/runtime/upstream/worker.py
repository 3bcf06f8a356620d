"""Celery's worker internals the runtime reads: logger names, command-line options, shutdown kinds, state."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from celery import _state

#: Loggers of Celery's per-task INFO lines ("Task ... received", "Task ... succeeded in ...").
PER_TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace")

#: The ``how`` of Celery's worker_shutting_down signal for a warm shutdown (SIGTERM).
WARM_SHUTDOWN = "Warm"

#: The text of py-amqp's AccessRefused when the credentials are wrong (not a permission refusal).
LOGIN_REFUSED = "Login was refused"


def option_values(argv: Sequence[str], short: str, long: str) -> list[str]:
    """Values given to an option in a Celery command line (``-Q a,b``, ``-Qa,b``, ``--queues a`` or ``=a``)."""
    values = []
    for position, item in enumerate(argv):
        following = argv[position + 1] if position + 1 < len(argv) else ""
        if item == long or (short and item == short):
            values.append(following)
        elif item.startswith(long + "="):
            values.append(item[len(long) + 1 :])
        elif short and item.startswith(short) and len(item) > len(short) and not item.startswith("--"):
            values.append(item[len(short) :])
    return values


def current_task() -> Any:
    """``celery._state.get_current_task``: the task running in this thread, or None."""
    return _state.get_current_task()


def active_apps() -> list[Any]:
    """``celery._state._get_active_apps``: every live Celery app of the process."""
    return list(_state._get_active_apps())


def replace_worker_say(say: Callable[..., None]) -> None:
    """Route the worker's own console lines (``celery.apps.worker.safe_say``) through ``say``."""
    from celery.apps import worker as celery_worker  # noqa: PLC0415 - patched only when asked (JSON logs)

    celery_worker.safe_say = say
