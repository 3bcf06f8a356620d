"""Alert contract: draw a keyword's chart and mail it."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from celery_tasks.contract import Contract
from celery_tasks.models import ContractArgs, ContractResult
from celery_tasks.tasks.etl import DailyCount

IMPLEMENTED_BY = "the consumer-alert service"

EMAIL_PATTERN = r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"']+$"


class SendAlertArgs(ContractArgs):
    """The crossing to report and who receives it."""

    keyword: str = Field(min_length=1, max_length=200)
    day: dt.date
    count: int = Field(ge=0)
    threshold: float
    history: list[DailyCount] = Field(default_factory=list, max_length=3660)
    recipients: list[str] = Field(default_factory=list, max_length=100)


class SendAlertResult(ContractResult):
    """Whether a mail went out now (False when it had been sent before)."""

    sent: bool
    duplicate: bool
    message_id: str | None
    recipients: list[str]
    chart_path: str | None = None
    chart_bytes: int = 0


class SendAlert(Contract[SendAlertArgs, SendAlertResult]):
    """Draw the keyword's chart and mail it, at most once per keyword and day."""

    name = "alert.send_alert"
    version = 1
    implemented_by = IMPLEMENTED_BY
    Args = SendAlertArgs
    Result = SendAlertResult


CONTRACTS = (SendAlert,)
