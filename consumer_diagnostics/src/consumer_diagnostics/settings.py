"""Settings of the diagnostics worker, read from `DIAGNOSTICS_*` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DiagnosticsSettings(BaseSettings):
    """Where diagnostics.record keeps its ledger (a worker-side path: producers cannot choose it)."""

    model_config = SettingsConfigDict(env_prefix="DIAGNOSTICS_", extra="ignore", frozen=True)

    ledger_path: Path | None = Field(None, description="SQLite file of the side-effect ledger.")
