"""Console entry point: `consumer-etl [celery worker options]`."""

from __future__ import annotations

import logging
import sys

from celery_tasks.runtime import logs
from celery_tasks.runtime.worker import run_worker
from celery_tasks.settings import load_settings

from consumer_etl import runtime
from consumer_etl.errors import EtlError
from consumer_etl.tasks import CONTRACTS

logger = logging.getLogger(__name__)


def main() -> None:
    """Create the tables, check and sync the keywords file, then run the worker on the etl.* queues."""
    logs.configure("etl", load_settings().log_format)  # JSON lines from the first one on, when asked
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s: %(levelname)s/consumer-etl] %(message)s")
    try:
        keywords = runtime.prepare()
    except EtlError as exc:
        sys.exit(f"consumer-etl: {type(exc).__name__}: {exc}")
    logger.info("tracking %d keywords from %s", len(keywords), runtime.settings().keywords_file)
    run_worker(CONTRACTS, service="etl")
