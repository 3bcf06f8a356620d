"""Alert contract: draw a keyword's chart and mail it.

The arguments are checked at the producer already: a keyword with a line break or another
control character (it goes into the mail's subject) and a recipient that is not one plain
``local@domain`` address are refused before anything is published, so a header injection
attempt never reaches the queue. The alert service checks both again before it mails.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from celery_tasks.contract import Contract
from celery_tasks.models import ContractArgs, ContractResult
from celery_tasks.tasks.etl import DailyCount

IMPLEMENTED_BY = "the consumer-alert service"

#: One plain ASCII address: a dot-atom local part and a host name (no display name, no list, no comment).
EMAIL_PATTERN = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
MAX_ADDRESS_LENGTH = 254

Recipient = Annotated[str, StringConstraints(max_length=MAX_ADDRESS_LENGTH, pattern=EMAIL_PATTERN)]


def unsafe_characters(text: str) -> list[str]:
    """The characters of ``text`` that must not go into a mail header (controls, line and paragraph breaks)."""
    return [char for char in text if unicodedata.category(char)[0] == "C" or unicodedata.category(char) in {"Zl", "Zp"}]


class SendAlertArgs(ContractArgs):
    """The crossing to report and who receives it (no recipients: the service's default recipients)."""

    keyword: str = Field(min_length=1, max_length=200)
    day: dt.date
    count: int = Field(ge=0)
    threshold: float = Field(ge=0)
    history: list[DailyCount] = Field(default_factory=list, max_length=3660)
    recipients: list[Recipient] = Field(default_factory=list, max_length=100)

    @field_validator("keyword")
    @classmethod
    def _refuse_header_breaking_keyword(cls, value: str) -> str:
        bad = unsafe_characters(value)
        if bad:
            raise ValueError(f"keyword must not contain line breaks or control characters (found {bad[0]!r})")
        if not value.strip():
            raise ValueError("keyword must not be blank")
        return value

    @field_validator("threshold")
    @classmethod
    def _refuse_non_finite_threshold(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("threshold must be a finite number")
        return value


class SendAlertResult(ContractResult):
    """Whether a mail went out now; ``duplicate`` when this keyword and day had been claimed before."""

    sent: bool
    duplicate: bool
    message_id: str | None
    recipients: list[str]
    refused: list[str] = Field(default_factory=list, description="Recipients the SMTP server refused.")
    claim_state: str | None = Field(None, description="State of the existing record when duplicate.")
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
