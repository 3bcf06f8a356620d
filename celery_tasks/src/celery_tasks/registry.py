"""Every contract this package defines, looked up by name."""

from __future__ import annotations

import difflib
from typing import Any

from celery_tasks.contract import Contract
from celery_tasks.errors import UnknownContract
from celery_tasks.tasks import alert, crawler, diagnostics, etl

ALL_CONTRACTS: tuple[type[Contract[Any, Any]], ...] = (
    *crawler.CONTRACTS,
    *etl.CONTRACTS,
    *alert.CONTRACTS,
    *diagnostics.CONTRACTS,
)

CONTRACTS_BY_NAME: dict[str, type[Contract[Any, Any]]] = {contract.name: contract for contract in ALL_CONTRACTS}

if len(CONTRACTS_BY_NAME) != len(ALL_CONTRACTS):  # pragma: no cover - a definition error
    raise RuntimeError("two contracts share a name")


def get_contract(name: str) -> type[Contract[Any, Any]]:
    """The contract called ``name``; UnknownContract (with suggestions) when there is none."""
    try:
        return CONTRACTS_BY_NAME[name]
    except KeyError:
        close = difflib.get_close_matches(name, CONTRACTS_BY_NAME, n=3, cutoff=0.5)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        known = ", ".join(sorted(CONTRACTS_BY_NAME))
        raise UnknownContract(f"unknown task name {name!r}{hint}. Known contracts: {known}") from None
