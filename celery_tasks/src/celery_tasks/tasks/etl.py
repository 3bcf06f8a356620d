"""ETL contracts: map a day's documents to keywords, then find the keywords over their threshold."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from celery_tasks.contract import Contract
from celery_tasks.models import ContractArgs, ContractResult

IMPLEMENTED_BY = "the consumer-etl service"


class MapKeywordsArgs(ContractArgs):
    """The day to map."""

    day: dt.date


class MapKeywordsResult(ContractResult):
    """How many documents were read and the day's count per keyword."""

    day: dt.date
    documents: int
    counts: dict[str, int]


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
    window_days: int = Field(28, ge=3, le=366)
    k: float = Field(3.0, gt=0, le=100)
    min_history: int = Field(7, ge=1, le=366)


class DailyCount(ContractResult):
    """One keyword's count on one day."""

    day: dt.date
    count: int


class KeywordThreshold(ContractResult):
    """One keyword's threshold on the day and whether its count crossed it."""

    keyword: str
    count: int
    threshold: float | None
    crossed: bool
    history: list[DailyCount] = Field(default_factory=list)


class FindThresholdsResult(ContractResult):
    """Every tracked keyword's threshold, and the ones that crossed."""

    day: dt.date
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
