"""The HTTP API's answers to a submit and to a health check (task status models are in task_store.py)."""

from __future__ import annotations

from typing import Literal

from celery import states
from pydantic import BaseModel, Field


class Submitted(BaseModel):
    """A task accepted and sent to its queue."""

    task_id: str
    name: str
    queue: str
    state: str = states.PENDING
    status_url: str
    consumers: int = Field(description="Consumers on the queue when the task was sent.")
    warning: str | None = None


class BrokerHealth(BaseModel):
    """Whether the broker answered."""

    url: str
    reachable: bool
    error: str | None = None


class Health(BaseModel):
    """Broker reachability and consumers per required queue."""

    status: Literal["ok", "unhealthy"]
    broker: BrokerHealth
    consumers: dict[str, int]
    missing: list[str]
