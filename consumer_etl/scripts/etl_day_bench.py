"""Time and peak memory of the ETL's daily batch on one generated day of documents.

Generates ``--documents`` documents for one day (plus 10 % on the day before, which the
run must skip) in a temporary database, then maps the day in a *fresh* child process and
reports its wall and CPU time (this process only: the database server's CPU is not
counted) and peak memory: the peak resident set size (``ru_maxrss``) of the
whole process, the resident size before mapping started (interpreter, SQLAlchemy, the
driver), and, with ``--tracemalloc``, the peak of Python allocations during the run.

    .venv/bin/python consumer_etl/scripts/etl_day_bench.py --documents 100000
    .venv/bin/python consumer_etl/scripts/etl_day_bench.py --documents 100000 --database postgresql

SQLite uses a file in a temporary directory; PostgreSQL a scratch database created on
``--postgres-url`` and dropped afterwards. Nothing else is touched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from celery_tasks_devtools.documents import insert_documents, vocabulary
from consumer_etl.keywords import build_matcher, load_keywords, sync_keywords
from consumer_etl.mapping import map_day
from consumer_etl.settings import DEFAULT_KEYWORDS_FILE, DEFAULT_STOPWORDS_FILE
from consumer_etl.text import load_stopwords

from task_storage import create_schema, make_engine, scratch_database

DAY = dt.date(2024, 6, 1)
MAX_DOCUMENTS = 1_000_000


def _mentions() -> list[str]:
    """Keyword and alias spellings with case and accent variants, as a text would contain them."""
    spellings: list[str] = []
    for spec in load_keywords(DEFAULT_KEYWORDS_FILE):
        for text in (spec.keyword, *spec.aliases):
            spellings += [text, text.upper(), text.title()]
    return spellings


def generate(url: str, documents: int, words: int, seed: int) -> None:
    """Store ``documents`` documents on DAY and 10 % more on the day before."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    engine = make_engine(url)
    create_schema(engine)
    plan = [(DAY, documents), (DAY - dt.timedelta(days=1), documents // 10)]
    insert_documents(engine, plan, rng=rng, words=vocabulary(rng), mentions=_mentions(), length=words)
    engine.dispose()


def measure(url: str, read_batch: int, trace: bool) -> dict[str, Any]:
    """Map DAY once (in this process) and return the figures."""
    engine = make_engine(url)
    specs = load_keywords(DEFAULT_KEYWORDS_FILE)
    matcher = build_matcher(specs, load_stopwords(DEFAULT_STOPWORDS_FILE))
    keyword_ids = sync_keywords(engine, specs)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if trace:
        tracemalloc.start()
    started, cpu_started = time.perf_counter(), time.process_time()
    found = map_day(engine, DAY, matcher, keyword_ids, read_batch=read_batch)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    traced_peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    engine.dispose()
    return {
        "documents": found.documents,
        "keywords": len(keyword_ids),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "documents_per_second": round(found.documents / seconds) if seconds else None,
        "rss_before_mib": round(rss_before / 1024, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "tracemalloc_peak_mib": round(traced_peak / 2**20, 2) if traced_peak is not None else None,
        "top_counts": dict(sorted(found.counts.items(), key=lambda item: -item[1])[:5]),
    }


@contextmanager
def database(kind: str, postgres_url: str) -> Iterator[str]:
    """A temporary database URL of the requested kind."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="etl-bench-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
    else:
        with scratch_database(postgres_url, prefix="etl_bench") as url:
            yield url


def main() -> None:
    """Generate a day, then measure its mapping in a child process."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=150, help="average words per document")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--read-batch", type=int, default=1000)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--measure-url", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.measure_url:
        print(json.dumps(measure(options.measure_url, options.read_batch, options.tracemalloc)))
        return
    if not 1 <= options.documents <= MAX_DOCUMENTS:
        parser.error(f"--documents must be between 1 and {MAX_DOCUMENTS}")
    with database(options.database, options.postgres_url) as url:
        started = time.perf_counter()
        generate(url, options.documents, options.words, options.seed)
        generated = time.perf_counter() - started
        child = [sys.executable, __file__, "--measure-url", url, "--read-batch", str(options.read_batch)]
        if options.tracemalloc:
            child.append("--tracemalloc")
        output = subprocess.run(child, check=True, capture_output=True, text=True).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    figures = {"database": options.database, "generate_seconds": round(generated, 1), **figures}
    print(json.dumps(figures, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
