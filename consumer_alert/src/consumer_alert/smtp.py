"""Send one message by SMTP (smtplib): plain, STARTTLS or implicit TLS, with optional login.

The dialogue is driven step by step rather than with ``send_message`` so that a failure
can be told apart by when it happened:

* before the message body is handed over (connect, TLS, login, MAIL, RCPT, or a reply
  refusing DATA): the server certainly has no copy. :class:`DeliveryFailed` is raised
  (``transient`` for 4xx replies and network errors, not for 5xx or bad credentials);
* while the body is transmitted or its reply awaited, the connection breaks: the server
  may have queued the mail. :class:`DeliveryUncertain` is raised;
* the server answers the body with an error code: certainly not taken, ``DeliveryFailed``.

``progress.stage`` tells the caller the same for exceptions that are not SMTP errors
(a time limit firing mid-dialogue): anything raised at stage ``data`` may have been sent.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.headerregistry import AddressHeader
from email.message import EmailMessage
from typing import Literal

from consumer_alert.errors import DeliveryFailed, DeliveryUncertain, PermanentDeliveryFailure
from consumer_alert.settings import AlertSettings

logger = logging.getLogger(__name__)

Stage = Literal["connect", "envelope", "data", "done"]


@dataclass
class DeliveryProgress:
    """How far the SMTP dialogue got: from ``data`` on, the server may hold the message."""

    stage: Stage = "connect"

    @property
    def maybe_sent(self) -> bool:
        """True once the body is being handed over (or was)."""
        return self.stage in {"data", "done"}


@dataclass(frozen=True)
class Delivery:
    """What the server accepted."""

    accepted: list[str]
    refused: dict[str, str] = field(default_factory=dict)
    reply: str = ""


def tls_context(settings: AlertSettings) -> ssl.SSLContext:
    """A verifying TLS context: the system's CAs, or only ALERT_SMTP_CA_FILE when it is set."""
    cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def envelope_addresses(message: EmailMessage) -> tuple[str, list[str]]:
    """The envelope sender and recipients, from the parsed From, To and Cc headers."""
    sender_header = message["From"]
    if not isinstance(sender_header, AddressHeader) or len(sender_header.addresses) != 1:
        raise PermanentDeliveryFailure("the message needs exactly one From address")
    recipients = [
        address.addr_spec
        for name in ("To", "Cc")
        if isinstance(message[name], AddressHeader)
        for address in message[name].addresses
    ]
    return sender_header.addresses[0].addr_spec, recipients


def _failure(exc: Exception, what: str, settings: AlertSettings) -> DeliveryFailed:
    """The DeliveryFailed for an exception raised before the message body left."""
    where = f"{settings.smtp_host}:{settings.port} ({settings.smtp_security})"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return PermanentDeliveryFailure(f"SMTP server {where} refused the credentials of ALERT_SMTP_USER: {exc}")
    if isinstance(exc, smtplib.SMTPResponseException):
        reason = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        text = f"SMTP server {where} refused {what}: {exc.smtp_code} {reason}"
        return PermanentDeliveryFailure(text) if exc.smtp_code >= 500 else DeliveryFailed(text)
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return PermanentDeliveryFailure(f"TLS with SMTP server {where} failed during {what}: {exc}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return PermanentDeliveryFailure(f"SMTP server {where} does not support {what}: {exc}")
    return DeliveryFailed(f"SMTP server {where} failed during {what}: {type(exc).__name__}: {exc}")


def _connect(settings: AlertSettings, context: ssl.SSLContext) -> smtplib.SMTP:
    if settings.smtp_security == "tls":
        return smtplib.SMTP_SSL(settings.smtp_host, settings.port, timeout=settings.smtp_timeout, context=context)
    return smtplib.SMTP(settings.smtp_host, settings.port, timeout=settings.smtp_timeout)


def _open_envelope(client: smtplib.SMTP, settings: AlertSettings, context: ssl.SSLContext) -> None:
    """EHLO, STARTTLS and login as configured."""
    client.ehlo_or_helo_if_needed()
    if settings.smtp_security == "starttls":
        if not client.has_extn("starttls"):
            raise smtplib.SMTPNotSupportedError("STARTTLS (ALERT_SMTP_SECURITY=starttls)")
        client.starttls(context=context)
        client.ehlo()
    if settings.smtp_user:
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
        client.login(settings.smtp_user, password)


def _address_envelope(client: smtplib.SMTP, sender: str, recipients: list[str]) -> dict[str, str]:
    """MAIL FROM and RCPT TO; returns the refused recipients (all refused raises)."""
    code, reply = client.mail(sender)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused: dict[str, str] = {}
    for recipient in recipients:
        code, reply = client.rcpt(recipient)
        if code not in {250, 251}:
            refused[recipient] = f"{code} {reply.decode(errors='replace')}"
    if len(refused) == len(recipients):
        code = min(int(reason.split(" ", 1)[0]) for reason in refused.values())
        raise smtplib.SMTPResponseException(code, f"every recipient refused: {refused}".encode())
    return refused


def deliver(message: EmailMessage, settings: AlertSettings, progress: DeliveryProgress | None = None) -> Delivery:
    """Send ``message`` to its To/Cc recipients; see the module docstring for what each error means."""
    progress = progress or DeliveryProgress()
    sender, recipients = envelope_addresses(message)
    body = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    context = tls_context(settings)
    progress.stage = "connect"
    try:
        client = _connect(settings, context)
    except (smtplib.SMTPException, OSError) as exc:
        raise _failure(exc, "the connection", settings) from exc
    try:
        try:
            progress.stage = "envelope"
            _open_envelope(client, settings, context)
            refused = _address_envelope(client, sender, recipients)
        except (smtplib.SMTPException, OSError) as exc:
            raise _failure(exc, "the envelope", settings) from exc
        progress.stage = "data"
        try:
            code, reply = client.data(body)
            if code != 250:  # data() only raises for a bad reply to DATA itself, not to the body
                raise smtplib.SMTPDataError(code, reply)
        except smtplib.SMTPResponseException as exc:
            # An error reply to DATA or to the body: the server says it did not take the mail.
            raise _failure(exc, "the message", settings) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryUncertain(
                f"the connection to {settings.smtp_host}:{settings.port} broke while the message was being "
                f"transmitted ({type(exc).__name__}: {exc}); the server may have accepted it"
            ) from exc
        progress.stage = "done"
    finally:
        _close(client)
    accepted = [recipient for recipient in recipients if recipient not in refused]
    return Delivery(accepted=accepted, refused=refused, reply=f"{code} {reply.decode(errors='replace')}")


def _close(client: smtplib.SMTP) -> None:
    """QUIT politely; a failure here changes nothing about the delivery."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError) as exc:
        logger.debug("SMTP QUIT failed: %s", exc)
        client.close()
