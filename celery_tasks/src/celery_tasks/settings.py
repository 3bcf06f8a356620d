"""One settings class for every service, read from `CELERY_TASKS_*` variables or `.env`."""

from __future__ import annotations

from typing import Any, Literal, TypeVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from celery_tasks.errors import ConfigurationError

REFUSED_SERIALIZERS = frozenset({"pickle", "yaml", "msgpack"})

WorkerPool = Literal["prefork", "threads", "solo"]
LogFormat = Literal["text", "json"]


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class TaskSettings(BaseSettings):
    """Broker, serialization and reliability settings shared by producer and consumers."""

    model_config = SettingsConfigDict(env_prefix="CELERY_TASKS_", env_file=".env", extra="ignore", frozen=True)

    broker_url: str = "amqp://guest:guest@127.0.0.1:5672//"
    result_backend: str = Field(
        "rpc://", description="rpc:// (the sender only), redis://… or db+postgresql+psycopg://… (any process)."
    )
    result_expires: float = Field(3600.0, gt=0, description="Seconds a result (and a cancellation) is kept.")
    result_poll_interval: float = Field(
        0.05, gt=0, le=5, description="Seconds between reads of a database result store while .get() waits."
    )
    result_pool_connections: bool = Field(
        True, description="Keep database result store connections open (pooled); false: one per operation."
    )
    serializer: str = Field("json", description="Message serializer: 'json', or 'auth' to sign.")
    acks_late: bool = True
    reject_on_worker_lost: bool = True
    prefetch_multiplier: int = Field(1, ge=1, le=1000)
    soft_time_limit: float | None = Field(300.0, gt=0)
    time_limit: float | None = Field(360.0, gt=0)
    delivery_limit: int = Field(5, ge=1, le=1000)
    max_payload_bytes: int = Field(1_048_576, ge=256)
    no_consumer_timeout: float = Field(5.0, gt=0, description="Seconds .get() waits on a queue with no consumer.")
    consumer_check_after: float = Field(1.0, gt=0, description="Seconds of waiting before the first consumer check.")
    connect_timeout: float = Field(4.0, gt=0)
    publish_retries: int = Field(3, ge=0, le=100)
    confirm_timeout: float = Field(10.0, gt=0)
    task_events: bool = True
    worker_pool: WorkerPool = "prefork"
    worker_concurrency: int | None = Field(None, ge=1, le=512)
    shutdown_grace: float = Field(20.0, ge=0, description="Seconds a stopping worker lets running tasks finish.")
    metrics_port: int | None = Field(None, ge=1, le=65535, description="Serve worker metrics on this port.")
    metrics_address: str = Field("0.0.0.0", description="Address the metrics server listens on.")  # noqa: S104
    management_url: str = "http://127.0.0.1:15672"
    management_user: str | None = None
    management_password: str | None = None
    security_key: str | None = None
    security_certificate: str | None = None
    security_cert_store: str | None = None
    broker_ca_certs: str | None = None
    broker_certfile: str | None = None
    broker_keyfile: str | None = None
    log_format: LogFormat = Field("text", description="'json': one JSON object per log line (docs/observability.md).")

    @field_validator("serializer")
    @classmethod
    def _refuse_unsafe_serializers(cls, value: str) -> str:
        if value in REFUSED_SERIALIZERS:
            raise ValueError(f"{value!r} is refused: messages are JSON only ('json' or signed 'auth')")
        if value not in {"json", "auth"}:
            raise ValueError(f"unknown serializer {value!r}: use 'json' or 'auth'")
        return value

    @field_validator("broker_url")
    @classmethod
    def _check_broker_url(cls, value: str) -> str:
        for url in broker_urls(value):
            scheme = urlsplit(url).scheme
            if scheme not in {"amqp", "amqps", "pyamqp"}:
                raise ValueError(f"broker_url must be an amqp:// or amqps:// URL, not {scheme or 'empty'!r}")
        return value

    @field_validator("result_backend")
    @classmethod
    def _check_result_backend(cls, value: str) -> str:
        if not value or "://" not in value:
            raise ValueError("result_backend must be a URL such as 'rpc://'")
        return value

    @model_validator(mode="after")
    def _check_limits(self) -> TaskSettings:
        if self.soft_time_limit and self.time_limit and self.soft_time_limit >= self.time_limit:
            raise ValueError("soft_time_limit must be below time_limit so that cleanup can run")
        if self.serializer == "auth" and not (self.security_key and self.security_certificate):
            raise ValueError("serializer 'auth' needs security_key and security_certificate")
        return self

    @property
    def vhost(self) -> str:
        """The virtual host named in the (first) broker URL ('/' when none is named)."""
        path = urlsplit(broker_urls(self.broker_url)[0]).path
        return unquote(path[1:]) if len(path) > 1 else "/"

    def broker_credentials(self) -> tuple[str, str]:
        """User and password from the (first) broker URL (RabbitMQ's defaults when absent)."""
        parts = urlsplit(broker_urls(self.broker_url)[0])
        return unquote(parts.username or "guest"), unquote(parts.password or "guest")

    def management_credentials(self) -> tuple[str, str]:
        """Credentials for the management API, defaulting to the broker's."""
        user, password = self.broker_credentials()
        return self.management_user or user, self.management_password or password

    def with_vhost(self, vhost: str) -> TaskSettings:
        """A copy of these settings pointing at another virtual host (on every node of a failover list)."""
        path = "/" + quote(vhost, safe="")
        urls = [urlsplit(url) for url in broker_urls(self.broker_url)]
        url = ";".join(urlunsplit((parts.scheme, parts.netloc, path, "", "")) for parts in urls)
        return self.model_copy(update={"broker_url": url})

    def redacted_result_backend(self) -> str:
        """The result store URL with its password replaced, safe to log or print."""
        return redact_url(self.result_backend)

    def redacted_broker_url(self) -> str:
        """The broker URL (every one of a failover list) with its password replaced, safe to log or print."""
        return ";".join(redact_url(url) for url in broker_urls(self.broker_url))


def broker_urls(value: str) -> list[str]:
    """The URLs of a broker setting: one, or several separated by ';' (kombu's failover list)."""
    return [url.strip() for url in value.split(";") if url.strip()] or [value]


def redact_url(url: str) -> str:
    """A URL with the password of its user part replaced by ***."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def read_settings(
    model: type[SettingsT],
    prefix: str,
    error: type[ConfigurationError] = ConfigurationError,
    what: str = "configuration",
    **overrides: Any,
) -> SettingsT:
    """Read a service's settings from its ``PREFIX_*`` variables; an invalid value raises ``error`` naming them all.

    Every service reads its settings through here, and each service's configuration error is a
    subclass of ConfigurationError, so a caller can catch any of them in one place.
    """
    try:
        return model(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{prefix}{'_'.join(str(part) for part in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        )
        raise error(f"invalid {what}: {problems}") from None


def load_settings(**overrides: Any) -> TaskSettings:
    """Read the settings, turning any invalid value into a ConfigurationError naming it."""
    return read_settings(TaskSettings, "CELERY_TASKS_", **overrides)
