"""The producer's Celery app and the way to send one task by name: validated once, sent as the model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from celery_tasks.contract import Contract
from celery_tasks.errors import InvalidArguments
from celery_tasks.models import ContractArgs
from celery_tasks.registry import ALL_CONTRACTS, get_contract
from celery_tasks.runtime.app import ContractApp
from celery_tasks.runtime.factory import create_app
from celery_tasks.runtime.results import TypedAsyncResult
from celery_tasks.settings import TaskSettings, load_settings

from celery_tasks import topology


def producer_app(settings: TaskSettings | None = None) -> ContractApp:
    """A Celery app that can send every contract (and never runs any)."""
    return create_app(ALL_CONTRACTS, settings or load_settings())


def parse_json_arguments(text: str) -> dict[str, Any]:
    """Decode ``--args`` JSON into keyword arguments, refusing anything but an object."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArguments(f"--args is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidArguments(f"--args must be a JSON object of named arguments, not {type(data).__name__}")
    return data


@dataclass(frozen=True)
class Call:
    """One call of a contract, validated once: the contract and its argument model, ready to send."""

    contract: type[Contract[Any, Any]]
    arguments: ContractArgs

    @property
    def name(self) -> str:
        """The contract's name (also its queue)."""
        return self.contract.name


def validate(name: str, arguments: dict[str, Any]) -> Call:
    """The call of contract ``name`` with ``arguments`` validated into its model (raises before anything is sent)."""
    contract = get_contract(name)
    return Call(contract, contract.parse_arguments(kwargs=arguments))


def submit(app: ContractApp, call: Call) -> TypedAsyncResult[Any]:
    """Send a validated call (the model is sent as it is, not validated again); returns its typed result handle."""
    handle: TypedAsyncResult[Any] = app.tasks[call.name].apply_async(args=(call.arguments,))
    return handle


def contract_rows() -> list[dict[str, Any]]:
    """Every contract with its name, version, queue, argument and result schema."""
    return [
        {
            "name": contract.name,
            "version": contract.version,
            "min_version": contract.accepted_versions().start,
            "queue": contract.name,
            "dead_letter_queue": topology.dead_letter_queue_name(contract.name),
            "implemented_by": contract.implemented_by,
            "description": (contract.__doc__ or "").strip(),
            "fingerprint": contract.fingerprint,
            "args_schema": contract.Args.model_json_schema(),
            "result_schema": contract.Result.model_json_schema(),
        }
        for contract in ALL_CONTRACTS
    ]


def describe_fields(schema: dict[str, Any]) -> str:
    """A compact one-line view of an argument schema: name:type (required or =default)."""
    required = set(schema.get("required", []))
    parts = []
    for field, spec in schema.get("properties", {}).items():
        kind = _type_name(spec)
        if field in required:
            parts.append(f"{field}: {kind}")
        elif "default" in spec:
            parts.append(f"{field}: {kind} = {json.dumps(spec['default'])}")
        else:
            parts.append(f"{field}: {kind} = ...")
    return ", ".join(parts)


def _type_name(spec: dict[str, Any]) -> str:
    if "enum" in spec:
        return "|".join(json.dumps(value) for value in spec["enum"])
    if "anyOf" in spec:
        return "|".join(_type_name(option) for option in spec["anyOf"])
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit("/", 1)[-1]
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list[{_type_name(spec.get('items', {}))}]"
    if kind == "object" and "additionalProperties" in spec:
        return f"dict[str, {_type_name(spec['additionalProperties'])}]"
    fmt = spec.get("format")
    return f"{kind}({fmt})" if fmt else str(kind)
