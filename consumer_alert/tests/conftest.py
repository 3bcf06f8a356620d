"""Fixtures: a real SMTP server on loopback (aiosmtpd) and TLS material.

The shared tables on SQLite, PostgreSQL and MariaDB (``engine``) come from the devtools pytest plugin.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from celery_tasks.tasks.alert import SendAlertArgs
from celery_tasks.tasks.etl import DailyCount
from celery_tasks_devtools.ports import free_port
from consumer_alert.settings import AlertSettings
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SMTP_USER, SMTP_PASSWORD = "alerts", "s3cret-pw"


@dataclass
class Received:
    """One message the server took."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    """An aiosmtpd handler that keeps every message and can be told to refuse or hang up."""

    messages: list[Received] = field(default_factory=list)
    refuse_recipients: set[str] = field(default_factory=set)
    data_replies: list[str] = field(default_factory=list)  # answered (in order) instead of accepting
    hang_up_on_data: int = 0  # close the connection instead of answering DATA, this many times
    data_attempts: int = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.refuse_recipients:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_attempts += 1
        if self.hang_up_on_data > 0:
            self.hang_up_on_data -= 1
            server.transport.close()
            return "421 closing"
        if self.data_replies:
            return self.data_replies.pop(0)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        self.messages.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content,
                session.ssl is not None,
                login,
            )
        )
        return "250 2.0.0 queued"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    ):
        return AuthResult(success=True, auth_data=auth_data.login)
    return AuthResult(success=False, handled=False)


@dataclass
class SmtpServer:
    """A running server: where it listens and what it received."""

    host: str
    port: int
    handler: RecordingHandler

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages


@dataclass(frozen=True)
class TlsFiles:
    """A self-signed certificate for 127.0.0.1 and localhost."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return TlsFiles(cert_path, key_path)


def _start(handler: RecordingHandler, **kwargs: Any) -> tuple[Controller, SmtpServer]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, SmtpServer("127.0.0.1", port, handler)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server on loopback."""
    controller, server = _start(RecordingHandler())
    yield server
    controller.stop()


@pytest.fixture
def starttls_server(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    """An SMTP server that requires STARTTLS and a login (only over TLS)."""
    controller, server = _start(
        RecordingHandler(),
        tls_context=tls_files.server_context(),
        require_starttls=True,
        authenticator=_authenticate,
        auth_require_tls=True,
    )
    yield server
    controller.stop()


@pytest.fixture
def tls_server(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    """An SMTPS server (TLS from the first byte) that requires a login."""
    controller, server = _start(
        RecordingHandler(),
        ssl_context=tls_files.server_context(),
        authenticator=_authenticate,
        auth_require_tls=False,  # the whole connection is TLS; aiosmtpd only counts STARTTLS as TLS
    )
    yield server
    controller.stop()


@pytest.fixture
def make_settings(tmp_path: Path):
    """AlertSettings pointing at a test server, charts in the test's folder."""

    def make(server: SmtpServer | None = None, **overrides: Any) -> AlertSettings:
        values: dict[str, Any] = {
            "smtp_host": server.host if server else "127.0.0.1",
            "smtp_port": server.port if server else free_port(),
            "smtp_security": "none",
            "smtp_timeout": 10.0,
            "mail_from": "alerts@example.com",
            "mail_from_name": "Keyword alerts",
            "default_recipients": "",
            "chart_dir": tmp_path / "charts",
        }
        values.update(overrides)
        return AlertSettings(**values).check()

    return make


def history(day: dt.date, days: int = 28, base: int = 4) -> list[DailyCount]:
    """A plausible quiet history before ``day``."""
    return [DailyCount(day=day - dt.timedelta(days=n), count=base + (n * 7) % 5) for n in range(days, 0, -1)]


@pytest.fixture
def make_args():
    """Arguments of one alert, validated like a producer would (overrides by keyword)."""

    def make(keyword: str = "rabbitmq", **overrides: Any) -> SendAlertArgs:
        day = overrides.pop("day", dt.date(2025, 3, 14))
        values: dict[str, Any] = {
            "keyword": keyword,
            "day": day,
            "count": 31,
            "threshold": 14.5,
            "history": history(day),
            "recipients": ["ops@example.com", "team@example.org"],
        }
        values.update(overrides)
        return SendAlertArgs(**values)

    return make
