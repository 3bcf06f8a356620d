"""The alert service's settings, from ``ALERT_*`` variables or ``.env``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from celery_tasks.settings import read_settings
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from consumer_alert.errors import AlertConfigurationError

SmtpSecurity = Literal["none", "starttls", "tls"]

DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "tls": 465}


class AlertSettings(BaseSettings):
    """SMTP server, sender, default recipients and chart folder of the alert service."""

    model_config = SettingsConfigDict(env_prefix="ALERT_", env_file=".env", extra="ignore", frozen=True)

    smtp_host: str = "localhost"
    smtp_port: int | None = Field(None, ge=1, le=65535, description="Default: 25, 587 (starttls) or 465 (tls).")
    smtp_security: SmtpSecurity = "none"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_timeout: float = Field(30.0, gt=0, description="Seconds for the connection and each SMTP reply.")
    smtp_ca_file: Path | None = Field(None, description="CA bundle trusted for (START)TLS instead of the system CAs.")
    smtp_allow_plaintext_auth: bool = Field(False, description="Allow sending credentials without TLS.")
    mail_from: str = "celery-tasks-alerts@localhost"
    mail_from_name: str = "Keyword alerts"
    default_recipients: str = Field("", description="Comma separated; used when the task names no recipients.")
    subject_prefix: str = "[keyword alert]"
    chart_dir: Path = Path("alert-charts")
    chart_width: int = Field(1000, ge=300, le=4000, description="Chart width in pixels.")
    chart_height: int = Field(500, ge=200, le=3000, description="Chart height in pixels.")
    retries: int = Field(3, ge=0, le=20, description="Celery retries after a transient SMTP failure.")
    retry_backoff: float = Field(
        10.0, ge=1, le=3600, description="Seconds before the first retry (whole, at least 1), doubled each time."
    )

    @field_validator("smtp_host")
    @classmethod
    def _host_is_one_name(cls, value: str) -> str:
        if not value or any(char.isspace() or ord(char) < 32 for char in value):
            raise ValueError("must be a host name or address without spaces")
        return value

    @property
    def port(self) -> int:
        """The SMTP port, defaulting by the security mode."""
        return self.smtp_port or DEFAULT_PORTS[self.smtp_security]

    @property
    def default_recipient_list(self) -> list[str]:
        """ALERT_DEFAULT_RECIPIENTS split on commas, blanks dropped (checked later, like any recipient)."""
        return [part.strip() for part in self.default_recipients.split(",") if part.strip()]

    def check(self) -> AlertSettings:
        """Refuse combinations that would leak credentials; returns self."""
        if self.smtp_user and self.smtp_security == "none" and not self.smtp_allow_plaintext_auth:
            raise AlertConfigurationError(
                "ALERT_SMTP_USER is set but ALERT_SMTP_SECURITY is 'none': the password would cross the network "
                "in clear. Use 'starttls' or 'tls', or set ALERT_SMTP_ALLOW_PLAINTEXT_AUTH=true for a trusted relay"
            )
        if self.smtp_user and self.smtp_password is None:
            raise AlertConfigurationError("ALERT_SMTP_USER is set but ALERT_SMTP_PASSWORD is not")
        return self


def load_alert_settings(**overrides: object) -> AlertSettings:
    """Read the settings, turning an invalid value into an AlertConfigurationError naming the variable."""
    settings = read_settings(AlertSettings, "ALERT_", AlertConfigurationError, "alert configuration", **overrides)
    return settings.check()
