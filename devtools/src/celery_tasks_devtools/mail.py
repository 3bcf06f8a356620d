"""A local SMTP server (aiosmtpd) for the demo and the tests: writes every mail it receives as a .eml file."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from celery_tasks_devtools.ports import free_port

SLUG = re.compile(r"[^a-z0-9]+")


def normalise_message_id(value: str | None) -> str:
    """A Message-ID without its angle brackets and surrounding space."""
    return (value or "").strip().strip("<>").strip()


def short_slug(text: str, limit: int = 48) -> str:
    """A file-name slug of ``text``, cut at a word boundary within ``limit`` characters."""
    slug = SLUG.sub("-", text.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug or "mail"


class SaveToFolder:
    """aiosmtpd handler: one .eml file per mail, named by arrival order and subject."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.saved: dict[str, Path] = {}  # the latest mail of each Message-ID
        self.arrived: list[Path] = []  # every mail, in arrival order, repeated Message-IDs included

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        """Write the mail exactly as received, then accept it."""
        data: bytes = envelope.original_content or b""
        message = email.message_from_bytes(data, policy=email.policy.default)
        subject = short_slug(str(message.get("Subject", "mail")))
        with self.lock:
            path = self.folder / f"{len(self.arrived) + 1:03d}-{subject}.eml"
            partial = path.with_suffix(".eml.part")
            partial.write_bytes(data)
            partial.replace(path)
            self.arrived.append(path)
            self.saved[normalise_message_id(message.get("Message-ID"))] = path
        return "250 Message accepted for delivery"


class MailCatcher:
    """An SMTP server on loopback saving mails into ``folder`` (no TLS, no auth: a local catcher only)."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int | None = None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port or free_port(host)
        self.handler = SaveToFolder(folder)
        self.controller = Controller(self.handler, hostname=host, port=self.port)

    def start(self) -> MailCatcher:
        """Start listening (aiosmtpd runs its own event loop thread)."""
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.controller.stop()

    def file_for(self, message_id: str | None) -> Path | None:
        """The .eml file of a Message-ID, if that mail arrived."""
        return self.handler.saved.get(normalise_message_id(message_id))

    @property
    def files(self) -> dict[str, Path]:
        """Every saved mail by Message-ID (without angle brackets)."""
        with self.handler.lock:
            return dict(self.handler.saved)

    def subjects(self) -> list[str]:
        """Subject lines of every mail taken so far, in arrival order (a mail sent twice counts twice)."""
        with self.handler.lock:
            paths = list(self.handler.arrived)
        return [str(_parse(path).get("Subject", "")) for path in paths]


def _parse(path: Path) -> Any:
    """A saved mail, parsed."""
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)


def png_attachments(path: Path) -> list[tuple[str, int]]:
    """File names and sizes of the PNG images attached to (or inlined in) a saved mail."""
    found = []
    for part in _parse(path).walk():
        if part.get_content_type() == "image/png":
            payload = part.get_payload(decode=True) or b""
            if payload.startswith(b"\x89PNG"):
                found.append((part.get_filename() or "(inline)", len(payload)))
    return found
