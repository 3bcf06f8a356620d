"""Base classes for the argument and result models of a contract."""

from __future__ import annotations

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
