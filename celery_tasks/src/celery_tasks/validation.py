"""Checks of the contract core: argument binding, readable validation errors, definitions, payload size."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from celery_tasks.errors import ContractDefinitionError, InvalidArguments, InvalidProgress, PayloadTooLarge
from celery_tasks.models import ContractArgs, ContractProgress, ContractResult

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MAX_ERRORS_SHOWN = 20


def describe_validation_error(prefix: str, error: ValidationError) -> str:
    """One line per bad field: where it is, what is wrong, and what was given."""
    lines = []
    for item in error.errors()[:MAX_ERRORS_SHOWN]:
        where = ".".join(str(part) for part in item["loc"]) or "(arguments)"
        given = item.get("input")
        shown = "" if isinstance(given, dict) else f" (got {given!r:.80})"
        lines.append(f"  {where}: {item['msg']}{shown}")
    more = error.error_count() - MAX_ERRORS_SHOWN
    if more > 0:
        lines.append(f"  ... and {more} more")
    return f"{prefix}:\n" + "\n".join(lines)


def bind_arguments(model: type[BaseModel], name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Map positional and keyword arguments onto the model's fields, in declaration order."""
    fields = list(model.model_fields)
    if len(args) > len(fields):
        raise InvalidArguments(
            f"invalid arguments for {name}: it takes at most {len(fields)} positional "
            f"arguments ({', '.join(fields)}), {len(args)} were given"
        )
    data = dict(zip(fields, args, strict=False))
    repeated = sorted(set(data) & set(kwargs))
    if repeated:
        raise InvalidArguments(
            f"invalid arguments for {name}: {', '.join(repeated)} given both by position and by name"
        )
    data.update(kwargs)
    return data


def payload_json(name: str, arguments: BaseModel, limit: int | None) -> bytes:
    """The validated arguments as JSON, PayloadTooLarge when over ``limit`` bytes: the one size check of a send."""
    data = arguments.model_dump_json().encode()
    if limit is not None and len(data) > limit:
        raise PayloadTooLarge(
            f"payload for {name} is {len(data)} bytes, over the limit of {limit} bytes "
            "(CELERY_TASKS_MAX_PAYLOAD_BYTES); pass a reference to the data instead"
        )
    return data


def validate_progress(
    name: str,
    model: type[ContractProgress] | None,
    value: BaseModel | Mapping[str, Any] | None,
    fields: Mapping[str, Any],
) -> BaseModel:
    """The report as the contract's Progress model; InvalidProgress listing every bad field otherwise."""
    if model is None:
        raise InvalidProgress(f"{name} declares no Progress model, so it cannot report progress")
    if isinstance(value, model):
        if fields:
            raise InvalidProgress(f"progress of {name}: give a {model.__name__} or fields, not both")
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
        raise InvalidProgress(describe_validation_error(f"invalid progress from {name}", exc)) from None


def check_definition(cls: Any) -> None:
    """Fail at import time when a contract class is declared wrongly."""
    if not NAME_PATTERN.match(cls.name):
        raise ContractDefinitionError(f"contract name {cls.name!r} must be dotted lowercase, like 'crawler.fetch_page'")
    model = getattr(cls, "Progress", None)
    if model is not None and not (isinstance(model, type) and issubclass(model, ContractProgress)):
        raise ContractDefinitionError(f"contract {cls.name}: Progress must be a subclass of ContractProgress")
    for attribute, base in (("Args", ContractArgs), ("Result", ContractResult)):
        model = getattr(cls, attribute, None)
        if not (isinstance(model, type) and issubclass(model, base)):
            raise ContractDefinitionError(f"contract {cls.name} needs {attribute}, a subclass of {base.__name__}")
    if not isinstance(cls.version, int) or cls.version < 1:
        raise ContractDefinitionError(f"contract {cls.name} needs an integer version of 1 or more")
