"""Typed progress: a contract may declare ``Progress``; the implementation reports it, every handle reads it.

A report is one ``update_state(PROGRESS, meta)``: a store write on Redis or the database,
a message to the sender's existing reply queue on rpc://. No queue per task, and nothing
at all for a task that never reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from celery_tasks.errors import InvalidProgress

if TYPE_CHECKING:
    from celery_tasks.contract import Contract

#: The state of a task that reported progress and has not finished.
PROGRESS = "PROGRESS"


def validate(
    contract: type[Contract[Any, Any]], value: BaseModel | Mapping[str, Any] | None, fields: Mapping[str, Any]
) -> BaseModel:
    """The report as the contract's Progress model; InvalidProgress listing every bad field otherwise."""
    from celery_tasks.contract import describe_validation_error  # noqa: PLC0415 - contract imports this module

    model = contract.Progress
    if model is None:
        raise InvalidProgress(f"{contract.name} declares no Progress model, so it cannot report progress")
    if isinstance(value, model):
        if fields:
            raise InvalidProgress(f"progress of {contract.name}: give a {model.__name__} or fields, not both")
        return value
    data: dict[str, Any] = {}
    if isinstance(value, BaseModel):
        data = value.model_dump()
    elif value is not None:
        data = dict(value)
    data.update(fields)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidProgress(describe_validation_error(f"invalid progress from {contract.name}", exc)) from None


def report(task: Contract[Any, Any], value: BaseModel | Mapping[str, Any] | None, fields: Mapping[str, Any]) -> None:
    """Validate a progress report and store it as the task's PROGRESS state (worker side)."""
    progress = validate(type(task), value, fields)
    task_id = getattr(task.request, "id", None)
    if task_id is None:
        raise InvalidProgress(f"{task.name}: report_progress works only inside a running task")
    task.update_state(task_id=task_id, state=PROGRESS, meta=progress.model_dump(mode="json"))


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
