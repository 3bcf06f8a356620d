"""Implementations of the ETL contracts."""

from __future__ import annotations

import logging

from celery_tasks.tasks import etl

from consumer_etl import runtime
from consumer_etl.keywords import sync_keywords
from consumer_etl.mapping import map_day
from consumer_etl.thresholds import find_thresholds

logger = logging.getLogger(__name__)


class MapKeywords(etl.MapKeywords):
    """Count the tracked keywords in one day's documents, replacing that day's counts."""

    def run(self, args: etl.MapKeywordsArgs) -> etl.MapKeywordsResult:
        """Sync the keywords file, stream the day's documents, and replace the day's counts."""
        settings = runtime.settings()
        specs, matcher = runtime.keyword_source().load()
        database = runtime.engine()
        keyword_ids = sync_keywords(database, specs)
        found = map_day(
            database,
            args.day,
            matcher,
            keyword_ids,
            read_batch=settings.read_batch,
            write_batch=settings.write_batch,
        )
        logger.info(
            "mapped %s: %d documents, %d keywords in %.2f s", args.day, found.documents, len(keyword_ids), found.seconds
        )
        return etl.MapKeywordsResult(
            day=found.day, documents=found.documents, counts=found.counts, seconds=round(found.seconds, 3)
        )


class FindThresholds(etl.FindThresholds):
    """Judge every tracked keyword's count on a day against its robust threshold."""

    def run(self, args: etl.FindThresholdsArgs) -> etl.FindThresholdsResult:
        """Sync the keywords file, then compute each keyword's threshold from its stored history."""
        specs, _ = runtime.keyword_source().load()
        database = runtime.engine()
        keyword_ids = sync_keywords(database, specs)
        result = find_thresholds(database, keyword_ids, args)
        logger.info("thresholds of %s: %d keywords, crossed %s", args.day, len(result.keywords), result.crossed)
        return result


CONTRACTS = (MapKeywords, FindThresholds)
