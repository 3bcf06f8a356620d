"""ETL contracts: map a day's documents to keywords, then find the keywords over their threshold.

The statistic behind ``etl.find_thresholds`` is documented in ``consumer_etl.thresholds``:
threshold = median + k * max(1.4826 * MAD, min_spread) of the ``window_days`` days before
the day (days without counts are 0), and no keyword crosses before it has counts on at
least ``min_history`` of those days.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from celery_tasks.contract import Contract
from celery_tasks.models import ContractArgs, ContractResult

IMPLEMENTED_BY = "the consumer-etl service"

ThresholdStatus = Literal["crossed", "below", "not_enough_history"]


class MapKeywordsArgs(ContractArgs):
    """The day to map."""

    day: dt.date


class MapKeywordsResult(ContractResult):
    """How many documents were read and the day's count per keyword (documents mentioning it)."""

    day: dt.date
    documents: int
    counts: dict[str, int]
    seconds: float = 0.0


class MapKeywords(Contract[MapKeywordsArgs, MapKeywordsResult]):
    """Count the tracked keywords in one day's documents, replacing that day's counts."""

    name = "etl.map_keywords"
    version = 1
    implemented_by = IMPLEMENTED_BY
    Args = MapKeywordsArgs
    Result = MapKeywordsResult


class FindThresholdsArgs(ContractArgs):
    """The day to judge and the statistic's parameters."""

    day: dt.date
    window_days: int = Field(28, ge=3, le=366, description="Days before `day` the statistic looks at.")
    k: float = Field(3.0, gt=0, le=100, description="How many robust standard deviations above the median.")
    min_history: int = Field(7, ge=1, le=366, description="Days of the window that must have counts.")
    min_spread: float = Field(1.0, ge=0, le=1_000_000, description="Floor of the robust spread (a flat history).")

    @model_validator(mode="after")
    def _history_fits_the_window(self) -> FindThresholdsArgs:
        if self.min_history > self.window_days:
            raise ValueError(f"min_history ({self.min_history}) cannot exceed window_days ({self.window_days})")
        return self


class DailyCount(ContractResult):
    """One keyword's count on one day."""

    day: dt.date
    count: int


class KeywordThreshold(ContractResult):
    """One keyword's threshold on the day and whether its count crossed it."""

    keyword: str
    count: int
    threshold: float | None = Field(description="None while the history is too short.")
    crossed: bool
    status: ThresholdStatus = "below"
    median: float = 0.0
    mad: float = 0.0
    history_days: int = Field(0, description="Days of the window that have counts.")
    history: list[DailyCount] = Field(
        default_factory=list, description="The window's days before `day`, oldest first, 0 where no count."
    )


class FindThresholdsResult(ContractResult):
    """Every tracked keyword's threshold, and the ones that crossed."""

    day: dt.date
    day_mapped: bool = Field(True, description="False when the day has no counts (map_keywords not run, no documents).")
    keywords: list[KeywordThreshold]
    crossed: list[str]


class FindThresholds(Contract[FindThresholdsArgs, FindThresholdsResult]):
    """Compute each keyword's threshold from its history and report the crossings."""

    name = "etl.find_thresholds"
    version = 1
    implemented_by = IMPLEMENTED_BY
    Args = FindThresholdsArgs
    Result = FindThresholdsResult


CONTRACTS = (MapKeywords, FindThresholds)
