"""Turn low-level broker connection failures into one clear error that never shows credentials."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from amqp.exceptions import AccessRefused
from amqp.exceptions import ConnectionError as AMQPConnectionError
from broker_admin.secrets import scrub as scrub_secrets
from kombu.exceptions import OperationalError

from celery_tasks.errors import BrokerUnavailable
from celery_tasks.runtime.upstream.worker import LOGIN_REFUSED
from celery_tasks.settings import TaskSettings

BROKER_ERRORS = (OperationalError, AMQPConnectionError, OSError)


#: Shorter passwords are left in: replacing them would mangle ordinary words of the message.
SHORTEST_SCRUBBED = 3


def scrub(text: str, settings: TaskSettings) -> str:
    """The text with the broker and management passwords replaced, should a library have echoed one."""
    secrets = {settings.broker_credentials()[1], settings.management_credentials()[1]}
    return scrub_secrets(text, secrets, shortest=SHORTEST_SCRUBBED)


def unavailable(settings: TaskSettings, exc: BaseException, doing: str) -> BrokerUnavailable:
    """A BrokerUnavailable naming the broker (password hidden), the cause and the settings to check."""
    cause = scrub(f"{type(exc).__name__}: {exc}", settings)
    if isinstance(exc, AccessRefused):
        user = settings.broker_credentials()[0]
        return BrokerUnavailable(
            f"{doing}: the broker at {settings.redacted_broker_url()} refused the login of user {user!r} "
            f"({cause}). Check the user and password in CELERY_TASKS_BROKER_URL and the user's permissions"
        )
    return BrokerUnavailable(
        f"{doing}: the broker at {settings.redacted_broker_url()} is unreachable ({cause}) after "
        f"{settings.publish_retries} retries. The task was not confirmed, so treat it as not sent. "
        "Check that RabbitMQ is running and CELERY_TASKS_BROKER_URL "
        "(retries: CELERY_TASKS_PUBLISH_RETRIES, CELERY_TASKS_CONNECT_TIMEOUT)"
    )


@contextmanager
def broker_errors(settings: TaskSettings | None, doing: str) -> Iterator[None]:
    """Re-raise connection failures inside the block as BrokerUnavailable (no credentials, cause kept apart)."""
    try:
        yield
    except BROKER_ERRORS as exc:
        if settings is None:
            raise
        raise unavailable(settings, exc, doing) from None
    except AccessRefused as exc:
        if settings is None or LOGIN_REFUSED not in str(exc):
            raise  # a permission refusal names the exchange or queue, and no secret
        raise unavailable(settings, exc, doing) from None


def drop_connection(connection: Any) -> None:
    """Close a kombu connection's socket without AMQP's close handshake, after an exchange cut short.

    The handshake waits without a bound for the broker's Close-Ok. After an exchange interrupted
    between two reads of a frame (Ctrl-C, or SIGTERM turned into an exception), the stream is out
    of step: the handshake reads the rest of the old frame as a new one and waits forever.
    ``collect()`` closes the socket first (the broker frees the connection when it sees it close);
    a channel cut off while py-amqp was building it may then fail to collect (AttributeError),
    which must not replace the exception being handled.
    """
    with suppress(Exception):
        connection.collect()


@contextmanager
def one_off_connection(app: Any) -> Iterator[Any]:
    """A new broker connection for one short exchange: released politely after it, dropped after an exception."""
    connection = app.connection_for_write()
    try:
        yield connection
    except BaseException:
        drop_connection(connection)
        raise
    connection.release()
