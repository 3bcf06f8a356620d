"""Typed progress: a contract may declare ``Progress``; the implementation reports it, every handle reads it.

A report is one ``update_state(PROGRESS, meta)``: a store write on Redis or the database,
a message to the sender's existing reply queue on rpc://. No queue per task, and nothing
at all for a task that never reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from celery_tasks.models import PROGRESS

if TYPE_CHECKING:
    from celery_tasks.contract import Contract

__all__ = ("PROGRESS", "fraction", "parse")


def parse(contract: type[Contract[Any, Any]], state: str, info: Any) -> BaseModel | None:
    """The latest progress read from a task's state; None when there is none or it does not fit."""
    model = contract.Progress
    if model is None or state != PROGRESS or not isinstance(info, Mapping):
        return None
    try:
        return model.model_validate(dict(info))
    except ValidationError:
        return None  # e.g. a newer worker's shape: the state still says PROGRESS


def fraction(reported: BaseModel) -> tuple[float, float] | None:
    """(done, total) from a progress model whose first two fields are numbers, for a progress bar."""
    numbers = [value for value in reported.model_dump().values() if isinstance(value, int | float)]
    if len(numbers) < 2 or isinstance(numbers[0], bool) or isinstance(numbers[1], bool):
        return None
    return float(numbers[0]), float(numbers[1])
