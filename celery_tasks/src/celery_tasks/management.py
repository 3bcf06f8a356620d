"""A client for the RabbitMQ management HTTP API (one session, timeouts, retries, clear errors).

Credentials are only ever held in the session's auth: they are stripped from the URL,
never logged, and scrubbed from every error message (a 4xx body can echo a request).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from celery_tasks import headers as header_names
from celery_tasks.errors import ManagementAPIError, ManagementAuthError, ManagementNotFound, ManagementUnreachable
from celery_tasks.settings import TaskSettings
from celery_tasks.topology import dead_letter_queue_name

if TYPE_CHECKING:
    from celery_tasks.contract import Contract

logger = logging.getLogger(__name__)

HTTP_UNAUTHORIZED = 401
HTTP_NOT_FOUND = 404
HTTP_CLIENT_ERROR = 400
MAX_ERROR_BODY = 300
REDACTED = "***"
PROTOCOL2_PARTS = 3


def _segment(value: str) -> str:
    """Quote one path segment (vhost '/' becomes '%2F')."""
    return quote(value, safe="")


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


def _rate(stats: Mapping[str, Any], key: str) -> float:
    details = stats.get(f"{key}_details") or {}
    return float(details.get("rate") or 0.0)


@dataclass(frozen=True)
class QueueStats:
    """One queue's counts, consumers and message rates as the management API reports them."""

    name: str
    vhost: str
    type: str = "classic"
    state: str = "running"
    ready: int = 0
    unacked: int = 0
    consumers: int = 0
    publish_rate: float = 0.0
    deliver_rate: float = 0.0
    ack_rate: float = 0.0
    published: int = 0
    delivered: int = 0
    acked: int = 0

    @property
    def messages(self) -> int:
        """Ready plus unacknowledged messages."""
        return self.ready + self.unacked

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> QueueStats:
        """Build from one element of GET /api/queues (missing statistics count as zero)."""
        stats: Mapping[str, Any] = data.get("message_stats") or {}
        return cls(
            name=str(data.get("name", "")),
            vhost=str(data.get("vhost", "")),
            type=str(data.get("type", "classic")),
            state=str(data.get("state", "running")),
            ready=int(data.get("messages_ready") or 0),
            unacked=int(data.get("messages_unacknowledged") or 0),
            consumers=int(data.get("consumers") or 0),
            publish_rate=_rate(stats, "publish"),
            deliver_rate=_rate(stats, "deliver_get"),
            ack_rate=_rate(stats, "ack"),
            published=int(stats.get("publish") or 0),
            delivered=int(stats.get("deliver_get") or 0),
            acked=int(stats.get("ack") or 0),
        )


@dataclass(frozen=True)
class ConsumerInfo:
    """One consumer attached to a queue: which connection, and its prefetch."""

    queue: str
    consumer_tag: str
    connection: str
    prefetch_count: int
    ack_required: bool
    active: bool

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ConsumerInfo:
        """Build from one element of GET /api/consumers/{vhost}."""
        channel = data.get("channel_details") or {}
        queue = data.get("queue") or {}
        return cls(
            queue=str(queue.get("name", "")),
            consumer_tag=str(data.get("consumer_tag", "")),
            connection=str(channel.get("connection_name", "")),
            prefetch_count=int(data.get("prefetch_count") or 0),
            ack_required=bool(data.get("ack_required", True)),
            active=bool(data.get("active", True)),
        )


@dataclass(frozen=True)
class ContractQueueStatus:
    """A contract joined with its queue and its dead-letter queue (None when not declared yet)."""

    contract: str
    version: int
    implemented_by: str
    queue: QueueStats | None
    dead_letter_queue: QueueStats | None

    @property
    def ready(self) -> int:
        """Messages waiting in the contract's queue."""
        return self.queue.ready if self.queue else 0

    @property
    def unacked(self) -> int:
        """Messages delivered to a worker and not acknowledged yet."""
        return self.queue.unacked if self.queue else 0

    @property
    def consumers(self) -> int:
        """Consumers on the contract's queue."""
        return self.queue.consumers if self.queue else 0

    @property
    def dead_letters(self) -> int:
        """Messages parked in the contract's dead-letter queue."""
        return self.dead_letter_queue.messages if self.dead_letter_queue else 0


@dataclass(frozen=True)
class DeadLetter:
    """A parked message, decoded: which task, why it was parked, and its arguments."""

    task_id: str | None
    task: str | None
    reason: str | None
    error_type: str | None
    original_queue: str | None
    parked_at: str | None
    parked_by: str | None
    contract_version: int | None
    worker_version: int | None
    replay_count: int
    args: list[Any] | None
    kwargs: dict[str, Any] | None
    headers: dict[str, Any] = field(default_factory=dict)
    size: int = 0

    @classmethod
    def from_api(cls, message: Mapping[str, Any]) -> DeadLetter:
        """Build from one element of POST /api/queues/{vhost}/{queue}/get."""
        properties = message.get("properties") or {}
        found: dict[str, Any] = dict(properties.get("headers") or {})
        payload = message.get("payload", "")
        body: bytes | str = payload
        if message.get("payload_encoding") == "base64":
            try:
                body = base64.b64decode(payload)
            except (binascii.Error, ValueError):
                body = b""
        decoded = decode_task_body(body)
        args, kwargs = (decoded[0], decoded[1]) if decoded else (None, None)
        return cls(
            task_id=_optional_str(found.get("id")),
            task=_optional_str(found.get("task")),
            reason=_optional_str(found.get(header_names.REASON)),
            error_type=_optional_str(found.get(header_names.ERROR_TYPE)),
            original_queue=_optional_str(found.get(header_names.ORIGINAL_QUEUE)),
            parked_at=_optional_str(found.get(header_names.PARKED_AT)),
            parked_by=_optional_str(found.get(header_names.PARKED_BY)),
            contract_version=_optional_int(found.get(header_names.VERSION)),
            worker_version=_optional_int(found.get(header_names.WORKER_VERSION)),
            replay_count=_optional_int(found.get(header_names.REPLAYED)) or 0,
            args=args,
            kwargs=kwargs,
            headers=found,
            size=int(message.get("message_bytes") or 0),
        )


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _optional_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def decode_task_body(body: bytes | str) -> tuple[list[Any], dict[str, Any], dict[str, Any]] | None:
    """Celery protocol 2 JSON body ``[args, kwargs, embed]``; None when the body is anything else."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not (isinstance(value, list) and len(value) == PROTOCOL2_PARTS):
        return None
    args, kwargs, embed = value
    if not (isinstance(args, list) and isinstance(kwargs, dict) and isinstance(embed, dict | type(None))):
        return None
    return args, kwargs, embed or {}


class ManagementClient:
    """Talks to RabbitMQ's management API; credentials are never logged nor put in errors."""

    def __init__(
        self, url: str, user: str | None = None, password: str | None = None, *, timeout: float = 5.0, retries: int = 3
    ) -> None:
        clean, url_user, url_password = split_credentials(url)
        self.url = clean
        self.timeout = timeout
        self.session = requests.Session()
        self.user = user if user is not None else (url_user or "guest")
        self._secrets = tuple(s for s in (password, url_password) if s)
        self.session.auth = (self.user, password if password is not None else (url_password or "guest"))
        self.session.headers["content-type"] = "application/json"
        # Connection errors are retried for every method (the request never reached the broker);
        # read errors and error statuses are not, because the broker may have acted on them.
        retry = Retry(total=retries, connect=retries, read=0, status=0, backoff_factor=0.3, allowed_methods=None)
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    def __repr__(self) -> str:
        return f"ManagementClient(url={self.url!r}, user={self.user!r})"

    def __enter__(self) -> ManagementClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the session's pooled connections."""
        self.session.close()

    @classmethod
    def from_settings(cls, settings: TaskSettings, *, timeout: float = 5.0, retries: int = 3) -> ManagementClient:
        """A client for the management API named in the settings."""
        user, password = settings.management_credentials()
        return cls(settings.management_url, user, password, timeout=timeout, retries=retries)

    def _scrub(self, text: str, extra: Iterable[str] = ()) -> str:
        """The text with every known secret replaced."""
        for secret in (*self._secrets, *extra):
            if secret:
                text = text.replace(secret, REDACTED)
        return text

    def request(self, method: str, path: str, *, secrets: Iterable[str] = (), **kwargs: Any) -> Any:
        """Send one request and return its decoded JSON (None when the body is empty).

        ``secrets`` names values of this request (a new user's password) to scrub from errors.
        """
        secrets = tuple(secrets)
        try:
            response = self.session.request(method, f"{self.url}/api/{path}", timeout=self.timeout, **kwargs)
        except requests.Timeout:
            raise ManagementUnreachable(
                f"RabbitMQ management API at {self.url} did not answer {method} /api/{path} within {self.timeout} s"
            ) from None
        except requests.ConnectionError:
            raise ManagementUnreachable(
                f"RabbitMQ management API at {self.url} is unreachable (is RabbitMQ running with the "
                "management plugin? check CELERY_TASKS_MANAGEMENT_URL)"
            ) from None
        logger.debug("%s /api/%s -> %s", method, path, response.status_code)
        if response.status_code == HTTP_UNAUTHORIZED:
            raise ManagementAuthError(
                f"RabbitMQ management API at {self.url} refused the credentials of user {self.user!r} (401); "
                "check CELERY_TASKS_MANAGEMENT_USER / CELERY_TASKS_MANAGEMENT_PASSWORD and the user's tags"
            )
        if response.status_code == HTTP_NOT_FOUND:
            raise ManagementNotFound(f"not found in RabbitMQ management API: {method} /api/{path}")
        if response.status_code >= HTTP_CLIENT_ERROR:
            body = self._scrub(response.text[:MAX_ERROR_BODY], secrets)
            raise ManagementAPIError(
                f"RabbitMQ management API: {method} /api/{path} answered {response.status_code}: {body}"
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ManagementAPIError(f"RabbitMQ management API: {method} /api/{path} did not answer JSON") from None

    # -- broker -----------------------------------------------------------------------------------

    def overview(self) -> dict[str, Any]:
        """Broker-wide totals: versions, message counts and rates."""
        result: dict[str, Any] = self.request("GET", "overview")
        return result

    def whoami(self) -> dict[str, Any]:
        """The user these credentials log in as, with its tags."""
        result: dict[str, Any] = self.request("GET", "whoami")
        return result

    def aliveness(self, vhost: str = "/") -> bool:
        """True when the broker can declare, publish to and consume from a test queue in the vhost.

        A broker that cannot be reached or answers with an error is not alive (False); wrong
        credentials or a missing vhost raise, since they are configuration errors.
        """
        try:
            status = self.request("GET", f"aliveness-test/{_segment(vhost)}")
        except (ManagementAuthError, ManagementNotFound):
            raise
        except ManagementAPIError:
            return False
        return bool(status and status.get("status") == "ok")

    # -- vhosts, users, permissions -------------------------------------------------------------------

    def vhosts(self) -> list[str]:
        """Names of every virtual host."""
        return [str(item["name"]) for item in self.request("GET", "vhosts")]

    def create_vhost(self, vhost: str) -> None:
        """Create a virtual host (no error if it exists)."""
        self.request("PUT", f"vhosts/{_segment(vhost)}")

    def delete_vhost(self, vhost: str) -> None:
        """Delete a virtual host and everything in it (no error if it is gone)."""
        with contextlib.suppress(ManagementNotFound):
            self.request("DELETE", f"vhosts/{_segment(vhost)}")

    def users(self) -> list[dict[str, Any]]:
        """Every broker user with its tags (password hashes left out)."""
        return [{"name": user["name"], "tags": user.get("tags", [])} for user in self.request("GET", "users")]

    def create_user(self, user: str, password: str, tags: str = "") -> None:
        """Create or update a broker user."""
        self.request("PUT", f"users/{_segment(user)}", json={"password": password, "tags": tags}, secrets=[password])

    def delete_user(self, user: str) -> None:
        """Delete a broker user (no error if it is gone)."""
        with contextlib.suppress(ManagementNotFound):
            self.request("DELETE", f"users/{_segment(user)}")

    def set_permissions(
        self, vhost: str, user: str, configure: str = ".*", write: str = ".*", read: str = ".*"
    ) -> None:
        """Grant a user configure, write and read permissions (regular expressions) on a vhost."""
        body = {"configure": configure, "write": write, "read": read}
        self.request("PUT", f"permissions/{_segment(vhost)}/{_segment(user)}", json=body)

    def permissions(self, vhost: str) -> list[dict[str, Any]]:
        """Every user's permissions on a vhost."""
        result: list[dict[str, Any]] = self.request("GET", f"vhosts/{_segment(vhost)}/permissions")
        return result

    def delete_permissions(self, vhost: str, user: str) -> None:
        """Take away a user's permissions on a vhost (no error if there were none)."""
        with contextlib.suppress(ManagementNotFound):
            self.request("DELETE", f"permissions/{_segment(vhost)}/{_segment(user)}")

    # -- queues and consumers ---------------------------------------------------------------------

    def queues(self, vhost: str) -> list[dict[str, Any]]:
        """Every queue of a vhost with its counts, consumers and rates (raw API objects)."""
        result: list[dict[str, Any]] = self.request("GET", f"queues/{_segment(vhost)}")
        return result

    def queue(self, vhost: str, name: str) -> dict[str, Any]:
        """One queue with its counts, consumers and rates (raw API object)."""
        result: dict[str, Any] = self.request("GET", f"queues/{_segment(vhost)}/{_segment(name)}")
        return result

    def queue_stats(self, vhost: str) -> dict[str, QueueStats]:
        """Every queue of a vhost as QueueStats, by name."""
        return {stats.name: stats for stats in (QueueStats.from_api(item) for item in self.queues(vhost))}

    def consumers(self, vhost: str) -> list[ConsumerInfo]:
        """Every consumer in a vhost: its queue, connection and prefetch."""
        return [ConsumerInfo.from_api(item) for item in self.request("GET", f"consumers/{_segment(vhost)}")]

    def contract_statuses(
        self, vhost: str, contracts: Iterable[type[Contract[Any, Any]]] | None = None
    ) -> list[ContractQueueStatus]:
        """Each contract joined with its queue and its ``.dlq`` (all contracts of the registry by default)."""
        if contracts is None:
            from celery_tasks.registry import ALL_CONTRACTS  # noqa: PLC0415 - the registry imports every stub

            contracts = ALL_CONTRACTS
        stats = self.queue_stats(vhost)
        return [
            ContractQueueStatus(
                contract=contract.name,
                version=contract.version,
                implemented_by=contract.implemented_by,
                queue=stats.get(contract.name),
                dead_letter_queue=stats.get(dead_letter_queue_name(contract.name)),
            )
            for contract in contracts
        ]

    # -- messages -----------------------------------------------------------------------------------

    def peek(self, vhost: str, queue: str, count: int = 100) -> list[dict[str, Any]]:
        """Read up to ``count`` messages and put them back (their redelivered flag is set)."""
        body = {"count": count, "ackmode": "ack_requeue_true", "encoding": "auto", "truncate": 50_000}
        result: list[dict[str, Any]] = self.request(
            "POST", f"queues/{_segment(vhost)}/{_segment(queue)}/get", json=body
        )
        return result

    def peek_dead_letters(self, vhost: str, contract: str, count: int = 100) -> list[DeadLetter]:
        """Up to ``count`` parked messages of a contract, decoded, left in its dead-letter queue."""
        return [DeadLetter.from_api(message) for message in self.peek(vhost, dead_letter_queue_name(contract), count)]

    def purge(self, vhost: str, queue: str) -> None:
        """Remove every ready message from a queue."""
        self.request("DELETE", f"queues/{_segment(vhost)}/{_segment(queue)}/contents")
