"""Crawlers built on one template: HTML articles, feeds, and a cookie-login JSON API."""

from consumer_crawler.crawlers.article import ArticleCrawler
from consumer_crawler.crawlers.base import CrawlContext, Crawler, CrawlReport, ItemResult
from consumer_crawler.crawlers.entries import EntryCrawler
from consumer_crawler.crawlers.feed import FeedCrawler
from consumer_crawler.crawlers.json_api import JsonApiCrawler

__all__ = [
    "ArticleCrawler",
    "CrawlContext",
    "CrawlReport",
    "Crawler",
    "EntryCrawler",
    "FeedCrawler",
    "ItemResult",
    "JsonApiCrawler",
]
