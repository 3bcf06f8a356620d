"""API keys: the keys file (argon2 hashes only), key creation and revocation, and a store that re-reads the file.

A key reads ``ctk_<id>_<secret>``: the id (12 hex digits) names the key in the file, in logs and in
``producer keys list``; only the argon2id hash of the whole key is stored. The file is JSON::

    {"keys": [{"id": "3f1c0a9b2e4d", "name": "crawler-bot", "hash": "$argon2id$...",
               "submit": ["crawler.*"], "read": ["crawler.*"], "cancel": ["crawler.*"],
               "admin": false, "rate": "600/minute", "max_in_flight": 1000,
               "created_at": "...", "revoked_at": null}]}
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import tempfile
import threading
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import parse as parse_rate
from pydantic import BaseModel, Field, ValidationError, field_validator

from producer.errors import KeysFileError

LOGGER = logging.getLogger("producer.keys")
KEY_PREFIX = "ctk"
KEY_PATTERN = re.compile(r"^ctk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
HASHER = PasswordHasher()
#: Verified against when the presented id is unknown, so an unknown id costs as much as a wrong secret.
DUMMY_HASH = HASHER.hash("ctk_000000000000_" + "0" * 43)


class KeyRecord(BaseModel):
    """One key as stored: its id, hash, scopes (glob patterns of contract names) and limits."""

    id: str = Field(pattern=r"^[0-9a-f]{12}$")
    name: str = Field(min_length=1, max_length=100)
    hash: str = Field(pattern=r"^\$argon2")
    submit: list[str] = Field(default_factory=list)
    read: list[str] = Field(default_factory=list)
    cancel: list[str] = Field(default_factory=list)
    admin: bool = False
    rate: str | None = Field(None, description="Requests allowed, such as '600/minute'; None = the server default.")
    max_in_flight: int | None = Field(None, ge=1, description="Unfinished tasks allowed; None = the server default.")
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None

    @field_validator("rate")
    @classmethod
    def _check_rate(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_rate(value)
            except ValueError:
                raise ValueError(f"rate must read like '600/minute' or '10/second', not {value!r}") from None
        return value

    @property
    def revoked(self) -> bool:
        """Whether the key was revoked."""
        return self.revoked_at is not None


class KeysFile(BaseModel):
    """The whole keys file."""

    keys: list[KeyRecord] = Field(default_factory=list)

    def find(self, key_id: str) -> KeyRecord | None:
        """The record of ``key_id``, or None."""
        return next((record for record in self.keys if record.id == key_id), None)


def parse_keys(text: str, origin: str) -> KeysFile:
    """Parse a keys document, or raise KeysFileError naming ``origin`` (never quoting its content)."""
    try:
        keys = KeysFile.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'document'}: {e['msg']}" for e in exc.errors())
        raise KeysFileError(f"{origin} is not a valid keys file: {problems}") from None
    ids = [record.id for record in keys.keys]
    if len(ids) != len(set(ids)):
        raise KeysFileError(f"{origin} lists a key id twice")
    return keys


def read_keys_file(path: Path) -> KeysFile:
    """Read the keys file; a missing file is an empty one."""
    if not path.exists():
        return KeysFile()
    try:
        return parse_keys(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise KeysFileError(f"cannot read the keys file {path}: {exc.strerror}") from None


def write_keys_file(path: Path, keys: KeysFile) -> None:
    """Write the keys file atomically (a reader sees the old file or the new one, never half of one), mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(keys.model_dump(mode="json"), indent=2) + "\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def create_key(
    keys: KeysFile,
    name: str,
    *,
    submit: list[str],
    read: list[str] | None = None,
    cancel: list[str] | None = None,
    admin: bool = False,
    rate: str | None = None,
    max_in_flight: int | None = None,
) -> tuple[KeysFile, str]:
    """A new key added to ``keys``: the updated file and the key itself (shown once, never stored)."""
    key_id = secrets.token_hex(6)
    while keys.find(key_id) is not None:  # pragma: no cover - 48 random bits
        key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    try:
        record = _new_record(key_id, key, name, submit, read, cancel, admin, rate, max_in_flight)
    except ValidationError as exc:
        raise KeysFileError(
            "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        ) from None
    return KeysFile(keys=[*keys.keys, record]), key


def _new_record(
    key_id: str,
    key: str,
    name: str,
    submit: list[str],
    read: list[str] | None,
    cancel: list[str] | None,
    admin: bool,
    rate: str | None,
    max_in_flight: int | None,
) -> KeyRecord:
    return KeyRecord(
        id=key_id,
        name=name,
        hash=HASHER.hash(key),
        submit=submit,
        read=submit if read is None else read,
        cancel=submit if cancel is None else cancel,
        admin=admin,
        rate=rate,
        max_in_flight=max_in_flight,
        created_at=dt.datetime.now(dt.UTC),
    )


def revoke_key(keys: KeysFile, key_id: str) -> KeysFile:
    """``keys`` with ``key_id`` revoked (kept in the file, so the id is never reused and stays in the records)."""
    record = keys.find(key_id)
    if record is None:
        raise KeysFileError(f"no key with id {key_id!r} (see `producer keys list`)")
    if record.revoked:
        return keys
    revoked = record.model_copy(update={"revoked_at": dt.datetime.now(dt.UTC)})
    return KeysFile(keys=[revoked if r.id == key_id else r for r in keys.keys])


def key_id_of(presented: str) -> str | None:
    """The id part of a well-formed key, None for anything else."""
    match = KEY_PATTERN.match(presented)
    return match.group(1) if match else None


class KeyStore:
    """The current keys, re-read when the file changes (a rotation needs no restart), and verification."""

    def __init__(self, path: Path | None = None, text: str | None = None) -> None:
        if (path is None) == (text is None):
            raise KeysFileError("give the keys as a file (PRODUCER_API_KEYS_FILE) or a document (PRODUCER_API_KEYS)")
        self.path = path
        self.lock = threading.Lock()
        self.signature: tuple[int, int, int] | None = None
        self.keys = parse_keys(text, "PRODUCER_API_KEYS") if text is not None else self._load()
        self.reload_error: str | None = None
        # A key verified once is remembered as an HMAC under a per-process secret, tied to its stored hash:
        # later requests cost one HMAC and a constant-time compare instead of an argon2 verification.
        self.pepper = secrets.token_bytes(32)
        self.verified: dict[str, tuple[str, bytes]] = {}

    def _load(self) -> KeysFile:
        assert self.path is not None
        if not self.path.is_file():
            raise KeysFileError(f"the keys file {self.path} does not exist: create a key with `producer keys create`")
        self.signature = self._signature()
        return read_keys_file(self.path)

    def _signature(self) -> tuple[int, int, int] | None:
        assert self.path is not None
        try:
            stat = self.path.stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def current(self) -> KeysFile:
        """The keys, re-read first if the file changed; a broken new file keeps the last good keys (and says so)."""
        if self.path is None:
            return self.keys
        signature = self._signature()
        if signature == self.signature:
            return self.keys
        with self.lock:
            if signature != self.signature:
                try:
                    self.keys = read_keys_file(self.path) if signature is not None else KeysFile()
                    self.reload_error = None
                except KeysFileError as exc:
                    self.reload_error = str(exc)
                    LOGGER.error("keeping the previous API keys: %s", exc)
                self.signature = signature
        return self.keys

    def verify(self, presented: str) -> tuple[KeyRecord | None, str]:
        """The active record the presented key belongs to (or None) and a reason for the audit log."""
        key_id = key_id_of(presented)
        if key_id is None:
            return None, "malformed key"
        record = self.current().find(key_id)
        digest = hmac.new(self.pepper, presented.encode(), hashlib.sha256).digest()
        if record is None:
            _slow_verify(DUMMY_HASH, presented)
            return None, "unknown key id"
        remembered = self.verified.get(key_id)
        if remembered is not None and remembered[0] == record.hash and hmac.compare_digest(remembered[1], digest):
            matches = True
        else:
            matches = _slow_verify(record.hash, presented)
            if matches:
                self.verified[key_id] = (record.hash, digest)
        if not matches:
            return None, "wrong key"
        if record.revoked:
            return None, "revoked key"
        return record, "ok"


def _slow_verify(stored: str, presented: str) -> bool:
    """Argon2 verification (constant time in the presented key); False on any mismatch or broken hash."""
    try:
        return HASHER.verify(stored, presented)
    except (VerificationError, InvalidHashError):
        return False
