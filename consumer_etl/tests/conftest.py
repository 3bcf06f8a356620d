"""Fixtures: documents and keywords files; the empty shared tables (``engine``) come from the devtools plugin."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from task_storage import Document

_serial = itertools.count()


def add_documents(engine: Engine, day: dt.date, texts: Sequence[str], titles: Sequence[str | None] = ()) -> None:
    """Store one document per text on ``day``, as the crawler would."""
    titled = list(titles) + [None] * (len(texts) - len(titles))
    rows = [
        {
            "url": f"https://example.test/{day.isoformat()}/{next(_serial)}",
            "source": "test",
            "kind": "article",
            "status": 200,
            "title": title,
            "text": text,
            "day": day,
            "fetched_at": dt.datetime.now(dt.UTC),
        }
        for text, title in zip(texts, titled, strict=True)
    ]
    if rows:
        with engine.begin() as connection:
            connection.execute(insert(Document), rows)


def write_keywords(path: Path, keywords: dict[str, list[str]]) -> Path:
    """Write a keywords file in the ETL_KEYWORDS_FILE format."""
    path.write_text(
        json.dumps({"keywords": [{"keyword": k, "aliases": a} for k, a in keywords.items()]}), encoding="utf-8"
    )
    return path


@pytest.fixture
def seed() -> object:
    """The add_documents helper, for tests (conftest modules cannot be imported by name)."""
    return add_documents


@pytest.fixture
def keywords_path(tmp_path: Path) -> object:
    """A helper writing a keywords file in the test's directory: keywords_path({"kw": ["alias"]})."""

    def write(keywords: dict[str, list[str]], name: str = "keywords.json") -> Path:
        return write_keywords(tmp_path / name, keywords)

    return write
