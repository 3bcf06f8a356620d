"""Keeping credentials out of text: user and password taken out of URLs, known secrets scrubbed.

The one scrubbing rule of the workspace: the management client scrubs error bodies with it,
and celery_tasks' connectivity module scrubs broker errors with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

REDACTED = "***"


def scrub(text: str, secrets: Iterable[str | None], *, shortest: int = 1) -> str:
    """The text with every secret of at least ``shortest`` characters replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= shortest:
            text = text.replace(secret, REDACTED)
    return text


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """The URL without any user:password part, and that user and password (None when absent)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url.rstrip("/"), None, None
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)).rstrip("/")
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return clean, user, password
