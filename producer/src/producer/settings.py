"""Producer settings, read from `PRODUCER_*` variables or `.env`: what to crawl, when, and where the API listens."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from pathlib import Path
from typing import Annotated, Any

from celery_tasks.settings import read_settings
from limits import parse as parse_rate
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from producer.errors import ProducerConfigError

PIPELINE_QUEUES = (
    "crawler.crawl_feed",
    "crawler.fetch_page",
    "etl.map_keywords",
    "etl.find_thresholds",
    "alert.send_alert",
)
DAILY_AT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

CommaList = Annotated[list[str], NoDecode]


class ProducerSettings(BaseSettings):
    """What the producer sends and when: sources, pipeline parameters, schedule and HTTP API."""

    model_config = SettingsConfigDict(env_prefix="PRODUCER_", env_file=".env", extra="ignore", frozen=True)

    feeds: CommaList = Field(
        default_factory=list, description="RSS, Atom or JSON feed URLs to crawl (comma separated)."
    )
    pages: CommaList = Field(default_factory=list, description="Single page URLs to fetch (comma separated).")
    days: int = Field(28, ge=1, le=366, description="Days before the judged day mapped to keywords (its history).")
    window_days: int = Field(28, ge=3, le=366, description="History window of the threshold statistic.")
    k: float = Field(3.0, gt=0, le=100, description="Standard deviations above the mean that count as a crossing.")
    min_history: int = Field(7, ge=1, le=366, description="Days of history a keyword needs before it is judged.")
    min_spread: float = Field(1.0, ge=0, description="Floor of the threshold statistic's spread (flat histories).")
    recipients: CommaList = Field(default_factory=list, description="Alert recipients; empty = the alert default.")
    timezone: str = Field("UTC", description="Time zone of 'today' and of the daily schedule.")
    task_timeout: float = Field(300.0, gt=0, description="Seconds the pipeline waits for one stage's results.")
    crawl_every_minutes: float = Field(60.0, gt=0, description="Minutes between two crawls of every source.")
    daily_at: str = Field("06:00", description="HH:MM (in `timezone`) of the daily ETL and alert run.")
    schedule_dir: Path = Field(Path(".producer"), description="Folder of the beat schedule file.")
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=0, le=65535)
    api_max_body_bytes: int = Field(1_048_576, ge=64, description="Largest request body the API reads.")
    api_tracked_tasks: int = Field(10_000, ge=1, description="Task ids the API remembers for GET /tasks/{id}.")
    api_keys_file: Path | None = Field(
        None, description="JSON keys file (hashes only) of `producer keys`; re-read when it changes."
    )
    api_keys: SecretStr | None = Field(None, description="The keys file's content, for an environment secret.")
    api_rate_limit: str = Field("600/minute", description="Requests per key unless the key sets its own rate.")
    api_rate_storage: str = Field("memory://", description="Where rate counters live (redis://... to share them).")
    api_max_in_flight: int = Field(1000, ge=1, description="Unfinished tasks per key unless the key sets its own cap.")
    api_in_flight_retry_after: int = Field(5, ge=1, description="Retry-After seconds of a refusal at the cap.")
    health_queues: CommaList = Field(
        default_factory=lambda: list(PIPELINE_QUEUES), description="Queues /healthz requires a consumer on."
    )

    @field_validator("feeds", "pages", "recipients", "health_queues", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("daily_at")
    @classmethod
    def _check_daily_at(cls, value: str) -> str:
        if not DAILY_AT.match(value):
            raise ValueError(f"daily_at must be HH:MM on a 24-hour clock, not {value!r}")
        return value

    @field_validator("api_rate_limit")
    @classmethod
    def _check_rate(cls, value: str) -> str:
        try:
            parse_rate(value)
        except ValueError:
            raise ValueError(f"must read like '600/minute' or '10/second', not {value!r}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Europe/Paris')") from None
        return value

    @property
    def daily_hour_minute(self) -> tuple[int, int]:
        """Hour and minute of the daily run."""
        hour, minute = self.daily_at.split(":")
        return int(hour), int(minute)

    def today(self) -> dt.date:
        """The current day in the configured time zone."""
        return dt.datetime.now(zoneinfo.ZoneInfo(self.timezone)).date()

    @property
    def schedule_file(self) -> Path:
        """The beat schedule file (a shelve database) in the schedule folder."""
        return self.schedule_dir / "beat-schedule"


def load_producer_settings(**overrides: Any) -> ProducerSettings:
    """Read the settings, turning any invalid value into a ProducerConfigError naming the variable."""
    return read_settings(ProducerSettings, "PRODUCER_", ProducerConfigError, **overrides)
