"""Errors of the crawler service, all under CrawlerError.

Each takes a single message string so that it survives Celery's result
serialization; a task that raises one fails and is parked with that message.
"""

from __future__ import annotations

from celery_tasks.errors import ConfigurationError


class CrawlerError(Exception):
    """Root of every error raised by the crawler service."""


class CrawlerConfigError(CrawlerError, ConfigurationError):
    """Raised when a CRAWLER_* setting is invalid; the message names it."""


class UnsupportedURL(CrawlerError):
    """Raised for a URL that is not http(s) or has no host."""


class ForbiddenAddress(CrawlerError):
    """Raised before connecting to a loopback, private, link-local, metadata or reserved address."""


class RobotsDisallowed(CrawlerError):
    """Raised when robots.txt does not allow the crawler to fetch a URL."""


class TooManyRedirects(CrawlerError):
    """Raised when a redirect chain is longer than CRAWLER_MAX_REDIRECTS."""


class BodyTooLarge(CrawlerError):
    """Raised when a response body exceeds CRAWLER_MAX_BODY_BYTES (reading stops there)."""


class UnsupportedContentType(CrawlerError):
    """Raised when a response has a content type the crawler does not read."""


class FetchFailed(CrawlerError):
    """Raised when a request still fails after the retries (connection errors, timeouts)."""


class ServerUnavailable(FetchFailed):
    """Raised when a server still answers 5xx after the retries."""


class RateLimited(FetchFailed):
    """Raised on 429 after the retries, or when Retry-After asks for longer than CRAWLER_RETRY_AFTER_MAX."""


class LoginFailed(CrawlerError):
    """Raised when the JSON API's cookie login is refused or sets no session cookie."""


class ParseError(CrawlerError):
    """Raised when a feed or JSON document cannot be read."""


class StorageConflict(CrawlerError):
    """Raised when a document could not be upserted after repeated concurrent conflicts."""


class HttpStatusError(CrawlerError):
    """Raised when a feed or API listing answers with an error status (4xx) instead of a feed."""
