"""What a fetch gets back: the media types read, the final response, and a body read within the limits."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from functools import cached_property

import httpx

from consumer_crawler.charset import decode_body, header_charset, media_type
from consumer_crawler.errors import BodyTooLarge, UnsupportedContentType

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507, 508, 509, 520, 521, 522, 523, 524})

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
        "application/feed+json",
        "application/json",
        "+xml",
        "+json",
    }
)
JSON_TYPES = frozenset({"application/json", "+json"})


def accepts(accepted: frozenset[str] | None, kind: str) -> bool:
    """Whether media type ``kind`` is in ``accepted`` (entries starting with '+' match a suffix)."""
    if accepted is None:
        return True
    return kind in accepted or any(item.startswith("+") and kind.endswith(item) for item in accepted)


@dataclass(frozen=True)
class Fetched:
    """A final (non-redirect) response, its body read within the limits."""

    url: str
    status: int
    headers: httpx.Headers
    content: bytes
    redirects: tuple[str, ...] = ()
    elapsed: float = 0.0
    attempts: int = 1

    @property
    def ok(self) -> bool:
        """True for a 2xx status."""
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        """The Content-Type header ('' when absent)."""
        return str(self.headers.get("content-type", ""))

    @property
    def media_type(self) -> str:
        """The lowercase media type, without parameters."""
        return media_type(self.content_type)

    @property
    def declared_charset(self) -> str | None:
        """The charset parameter of the Content-Type header."""
        return header_charset(self.content_type)

    @cached_property
    def decoded(self) -> tuple[str, str]:
        """The body as text and the codec used (see :mod:`consumer_crawler.charset`)."""
        return decode_body(self.content, self.content_type)

    @property
    def text(self) -> str:
        """The body as text."""
        return self.decoded[0]

    @property
    def encoding(self) -> str:
        """The codec the body was decoded with."""
        return self.decoded[1]


@dataclass
class Redirect:
    """A redirect status and its Location: the next hop of a fetch."""

    status: int
    location: str


@dataclass
class Attempt:
    """How one request hop went: a result, or a reason to retry after a delay."""

    result: Fetched | Redirect | None = None
    retry_after: float | None = None
    failure: str = ""
    status: int | None = None


def classify(
    target: httpx.URL,
    response: httpx.Response,
    accept: frozenset[str] | None,
    max_bytes: int,
    deadline: float,
) -> Attempt:
    """Classify a response: retry, redirect, error status, or a body read within the limits (steps 5 to 7)."""
    status = response.status_code
    location = response.headers.get("location")
    if status in RETRY_STATUSES:
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        return Attempt(retry_after=retry_after, failure=f"HTTP {status}", status=status)
    if status in REDIRECT_STATUSES and location:
        return Attempt(result=Redirect(status, location))
    if status >= 400:
        return Attempt(result=Fetched(str(target), status, response.headers, b""))
    kind = media_type(response.headers.get("content-type"))
    if not accepts(accept, kind):
        raise UnsupportedContentType(
            f"{target}: content type {kind or '(none)'!r} is not read here "
            f"(expected one of {', '.join(sorted(accept or ()))})"
        )
    content = read_limited(response, str(target), max_bytes, deadline)
    return Attempt(result=Fetched(str(target), status, response.headers, content))


class BodyDeadline(Exception):
    """The whole-response deadline passed while reading a body."""


def read_limited(response: httpx.Response, url: str, max_bytes: int, deadline: float) -> bytes:
    """Stream the body, abandoning it once it exceeds ``max_bytes`` or the deadline passes."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(
            f"{url}: Content-Length {int(declared)} bytes is over the limit of {max_bytes} bytes "
            "(CRAWLER_MAX_BODY_BYTES); nothing was read"
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(
                f"{url}: body is over the limit of {max_bytes} bytes (CRAWLER_MAX_BODY_BYTES); reading stopped"
            )
        chunks.append(chunk)
        if time.monotonic() > deadline:
            raise BodyDeadline
    return b"".join(chunks)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a Retry-After header asks to wait (delta-seconds or an HTTP date), None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())
