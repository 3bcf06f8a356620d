"""Base classes for the argument and result models of a contract."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class ContractArgs(BaseModel):
    """Arguments of a contract: unknown fields are refused, so a typo never leaves the producer."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ContractResult(BaseModel):
    """Result of a contract: unknown fields are ignored, so a newer worker can add fields."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class ContractProgress(BaseModel):
    """Progress of a running task (optional ``Progress`` of a contract): unknown fields are refused in the worker."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: What a contract's task spends its time on; picks the worker pool (see runtime/pools.py).
WorkKind = Literal["cpu", "io", "instant"]

#: The Celery state of a task that reported progress and has not finished.
PROGRESS = "PROGRESS"
