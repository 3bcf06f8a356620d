"""Crawler settings, read from ``CRAWLER_*`` environment variables or ``.env``."""

from __future__ import annotations

from typing import Any, Literal

from celery_tasks.settings import read_settings
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from consumer_crawler.errors import CrawlerConfigError

DEFAULT_USER_AGENT = "celery-tasks-crawler/0.1 (+https://github.com/celery-tasks/consumer-crawler)"


class CrawlerSettings(BaseSettings):
    """HTTP limits, address policy, politeness and the JSON API login of the crawler."""

    model_config = SettingsConfigDict(env_prefix="CRAWLER_", env_file=".env", extra="ignore", frozen=True)

    allow_loopback: bool = Field(False, description="Allow 127.0.0.0/8 and ::1 (tests, local demos).")
    allow_private: bool = Field(False, description="Allow private, CGNAT and other non-global unicast addresses.")
    politeness_delay: float = Field(1.0, ge=0, le=3600, description="Seconds between requests to one host.")
    max_crawl_delay: float = Field(30.0, ge=0, le=3600, description="Cap on a robots.txt Crawl-delay.")
    respect_robots: bool = True
    robots_ttl: float = Field(3600.0, ge=0, description="Seconds a host's robots.txt stays cached.")
    robots_failure_ttl: float = Field(300.0, ge=0, description="Seconds an unreachable robots.txt blocks a host.")
    user_agent: str = Field(DEFAULT_USER_AGENT, min_length=1, max_length=300)
    connect_timeout: float = Field(5.0, gt=0, le=300)
    read_timeout: float = Field(20.0, gt=0, le=600)
    total_timeout: float = Field(60.0, gt=0, le=3600, description="Seconds one response may take, body included.")
    max_body_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="Largest (decoded) body read.")
    max_redirects: int = Field(5, ge=0, le=30)
    retries: int = Field(3, ge=0, le=20, description="Retries after connection errors, timeouts, 5xx and 429.")
    backoff_base: float = Field(0.5, ge=0, le=60, description="First backoff in seconds, doubled per retry.")
    backoff_max: float = Field(30.0, ge=0, le=3600)
    retry_after_max: float = Field(60.0, ge=0, le=3600, description="Longest Retry-After honoured; longer fails.")
    max_connections: int = Field(100, ge=1, le=10_000)
    api_login_url: str | None = Field(None, description="JSON API login endpoint (POST); unset = no login.")
    api_user: str | None = None
    api_password: SecretStr | None = None
    api_login_format: Literal["json", "form"] = "json"
    api_user_field: str = "username"
    api_password_field: str = "password"  # noqa: S105 - a JSON field name, not a secret

    @field_validator("api_login_url")
    @classmethod
    def _check_login_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value or None

    @model_validator(mode="after")
    def _check_login(self) -> CrawlerSettings:
        if self.api_login_url and not (self.api_user and self.api_password):
            raise ValueError("api_login_url needs api_user and api_password")
        return self


def load_crawler_settings(**overrides: Any) -> CrawlerSettings:
    """Read the settings, turning an invalid value into a CrawlerConfigError naming the variable."""
    return read_settings(CrawlerSettings, "CRAWLER_", CrawlerConfigError, "crawler configuration", **overrides)
