"""ETL settings, read from ``ETL_*`` variables or ``.env``."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_DIR = Path(__file__).with_name("data")
DEFAULT_KEYWORDS_FILE = DATA_DIR / "keywords.json"
DEFAULT_STOPWORDS_FILE = DATA_DIR / "stopwords.txt"


class EtlSettings(BaseSettings):
    """Where the tracked keywords and stopwords come from, and the batch sizes of a day's run."""

    model_config = SettingsConfigDict(env_prefix="ETL_", env_file=".env", extra="ignore", frozen=True)

    keywords_file: Path = Field(DEFAULT_KEYWORDS_FILE, description="JSON {'keywords': [{'keyword', 'aliases'}]}.")
    stopwords_file: Path = Field(DEFAULT_STOPWORDS_FILE, description="One stopword per line, '#' comments.")
    read_batch: int = Field(1000, ge=1, le=100_000, description="Documents fetched per round trip (yield_per).")
    write_batch: int = Field(1000, ge=1, le=100_000, description="Count rows written per statement.")
