"""URL normalisation: the key of a stored document."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit

from consumer_crawler.errors import UnsupportedURL

DEFAULT_PORTS = {"http": 80, "https": 443}


def _host(hostname: str) -> str:
    """Lowercase host, IDNA-encoded when it is not ASCII, IPv6 in brackets."""
    if ":" in hostname:
        return f"[{hostname.lower()}]"
    try:
        hostname.encode("ascii")
    except UnicodeEncodeError:
        try:
            return hostname.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise UnsupportedURL(f"invalid host name {hostname!r}: {exc}") from None
    return hostname.lower().rstrip(".")


def normalise_url(url: str) -> str:
    """Lowercase scheme and host, no fragment or credentials, no default port, sorted query, '/' for no path.

    Query parameters keep their exact encoding and are sorted as ``key=value`` strings, so
    ``?b=2&a=1`` and ``?a=1&b=2`` are the same document.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsupportedURL(f"only http and https URLs are crawled, not {url!r}")
    if not parts.hostname:
        raise UnsupportedURL(f"URL has no host: {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise UnsupportedURL(f"URL has an invalid port: {url!r}") from None
    netloc = _host(parts.hostname)
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = parts.path or "/"
    query = "&".join(sorted(item for item in parts.query.split("&") if item))
    return urlunsplit((scheme, netloc, path, query, ""))


def absolute_url(base: str, link: str) -> str | None:
    """``link`` resolved against ``base`` when it is an http(s) URL, else None."""
    link = link.strip()
    if not link or link.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    try:
        joined = urljoin(base, link)
        return normalise_url(joined)
    except (UnsupportedURL, ValueError):
        return None
