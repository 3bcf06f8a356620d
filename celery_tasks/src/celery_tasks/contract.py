"""The contract base class: a Celery task with a name, a version and typed arguments and result.

A contract (a *stub*) lives in this package and has no implementation. The producer
calls it: ``FetchPage().delay(url=...)`` validates the arguments against the argument
model before anything is published, and ``.get()`` returns an instance of the result
model. A consumer subclasses the stub and implements ``run(self, args) -> result``;
the worker validates each message body before ``run`` and each return value after it.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import celery
from pydantic import BaseModel, ValidationError

from celery_tasks import headers, progress, stores
from celery_tasks.bulk import can_send_direct, prepare_one, send_one, submit_many
from celery_tasks.connectivity import broker_errors
from celery_tasks.errors import (
    CeleryTasksError,
    ContractDefinitionError,
    ContractNotImplemented,
    InvalidArguments,
    InvalidResult,
    PayloadTooLarge,
    PublishRefused,
    UnsupportedVersion,
)
from celery_tasks.models import ContractArgs, ContractProgress, ContractResult
from celery_tasks.pools import WorkKind
from celery_tasks.results import TypedAsyncResult

ArgsT = TypeVar("ArgsT", bound=ContractArgs)
ResultT = TypeVar("ResultT", bound=ContractResult)

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
MAX_ERRORS_SHOWN = 20

logger = logging.getLogger(__name__)


def describe_validation_error(prefix: str, error: ValidationError) -> str:
    """One line per bad field: where it is, what is wrong, and what was given."""
    lines = []
    for item in error.errors()[:MAX_ERRORS_SHOWN]:
        where = ".".join(str(part) for part in item["loc"]) or "(arguments)"
        given = item.get("input")
        shown = "" if isinstance(given, dict) else f" (got {given!r:.80})"
        lines.append(f"  {where}: {item['msg']}{shown}")
    more = error.error_count() - MAX_ERRORS_SHOWN
    if more > 0:
        lines.append(f"  ... and {more} more")
    return f"{prefix}:\n" + "\n".join(lines)


def bind_arguments(model: type[BaseModel], name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Map positional and keyword arguments onto the model's fields, in declaration order."""
    fields = list(model.model_fields)
    if len(args) > len(fields):
        raise InvalidArguments(
            f"invalid arguments for {name}: it takes at most {len(fields)} positional "
            f"arguments ({', '.join(fields)}), {len(args)} were given"
        )
    data = dict(zip(fields, args, strict=False))
    repeated = sorted(set(data) & set(kwargs))
    if repeated:
        raise InvalidArguments(
            f"invalid arguments for {name}: {', '.join(repeated)} given both by position and by name"
        )
    data.update(kwargs)
    return data


class Contract(celery.Task, Generic[ArgsT, ResultT]):  # type: ignore[misc]
    """Base class of every task contract: a Celery task with typed arguments and result."""

    #: Unique dotted task name; also the name of the task's RabbitMQ queue.
    name: ClassVar[str]
    #: Bumped on every breaking change of the argument, result or progress model.
    version: ClassVar[int] = 1
    #: Oldest message version this contract still accepts (defaults to ``version``).
    min_version: ClassVar[int | None] = None
    #: The service that implements the contract, named in the stub's error.
    implemented_by: ClassVar[str] = "its consumer service"
    #: What the task spends its time on: "cpu", "io" or "instant"; picks the worker pool (see pools.py).
    work: ClassVar[WorkKind] = "cpu"
    Args: ClassVar[type[ContractArgs]]
    Result: ClassVar[type[ContractResult]]
    #: Optional model of the progress the implementation reports with ``report_progress``.
    Progress: ClassVar[type[ContractProgress] | None] = None
    fingerprint: ClassVar[str] = ""

    typing = False  # arguments are checked against the model, not the run() signature
    Request = "celery_tasks.request:ContractRequest"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        implementation = cls.__dict__.get("run")
        if implementation is not None and not getattr(implementation, "__contract_run__", False):
            cls.run = _validating_run(implementation)  # type: ignore[method-assign]
        redefined = any(key in cls.__dict__ for key in ("name", "version", "Args", "Result", "Progress"))
        if redefined and getattr(cls, "name", None):
            _check_definition(cls)
            cls.queue = cls.name
            cls.fingerprint = headers.schema_fingerprint(cls.Args, cls.Result, cls.Progress)

    @classmethod
    def accepted_versions(cls) -> range:
        """The message versions a worker of this contract executes."""
        oldest = cls.version if cls.min_version is None else cls.min_version
        return range(oldest, cls.version + 1)

    @classmethod
    def contract_headers(cls) -> dict[str, Any]:
        """Headers every message of this contract carries."""
        return {
            headers.CONTRACT: cls.name,
            headers.VERSION: cls.version,
            headers.FINGERPRINT: cls.fingerprint,
        }

    @classmethod
    def parse_arguments(
        cls, args: Sequence[Any] = (), kwargs: Mapping[str, Any] | None = None, *, lenient: bool = False
    ) -> ArgsT:
        """Validate call arguments into the argument model, raising InvalidArguments listing every bad field.

        ``lenient`` drops unknown fields instead of refusing them: a worker uses it so
        that an optional field added by a newer producer does not break an older worker.

        A single positional argument that already is an instance of ``Args`` (and no keyword
        arguments) is returned as it is, not validated again: a model instance is trusted as
        built, so ``delay(model)``, ``apply_async(args=(model,))`` and ``delay_many([model, ...])``
        send what the caller validated once. An instance made with ``model_construct`` skipped
        validation; sending one is the caller's responsibility (the worker still validates it).
        """
        if not kwargs and len(args) == 1 and isinstance(args[0], cls.Args):
            return args[0]  # type: ignore[return-value]
        data = bind_arguments(cls.Args, cls.name, args, kwargs or {})
        if lenient:
            unknown = sorted(set(data) - set(cls.Args.model_fields))
            if unknown:
                logger.warning("%s: ignoring fields unknown to version %s: %s", cls.name, cls.version, unknown)
                data = {key: value for key, value in data.items() if key not in unknown}
        try:
            return cls.Args.model_validate(data)  # type: ignore[return-value]
        except ValidationError as exc:
            raise InvalidArguments(describe_validation_error(f"invalid arguments for {cls.name}", exc)) from None

    @classmethod
    def parse_result(cls, value: Any) -> ResultT:
        """Validate a raw result (a dict from the wire, or a model) into the result model."""
        if isinstance(value, cls.Result):
            return value  # type: ignore[return-value]
        try:
            return cls.Result.model_validate(value)  # type: ignore[return-value]
        except ValidationError as exc:
            raise InvalidResult(describe_validation_error(f"invalid result from {cls.name}", exc)) from None

    def apply_async(
        self,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        task_id: str | None = None,
        producer: Any = None,
        link: Any = None,
        link_error: Any = None,
        shadow: str | None = None,
        **options: Any,
    ) -> TypedAsyncResult[ResultT]:
        """Validate the arguments, then publish the task; nothing is sent when they are invalid."""
        arguments = self.parse_arguments(args or (), kwargs)
        app = self._get_app()
        direct = can_send_direct(self, options, producer=producer, link=link, link_error=link_error, shadow=shadow)
        if direct:
            prepared = prepare_one(self, arguments, task_id, **options)  # the size check comes before any I/O
        else:
            payload = arguments.model_dump(mode="json")
            self.check_payload_size(payload)
            options["headers"] = {**(options.get("headers") or {}), **self.contract_headers()}
        settings = getattr(app, "settings", None)
        with (
            broker_errors(settings, f"cannot send {self.name}"),
            stores.store_errors(settings, f"cannot send {self.name} (nothing was sent)"),
        ):
            declare_once = getattr(app, "declare_topology_once", None)
            if declare_once is not None:
                declare_once(self.name)
            if direct:
                sent: TypedAsyncResult[ResultT] = send_one(self, prepared)
                self._record(sent.id, settings)
                return sent
            result: TypedAsyncResult[ResultT] = super().apply_async(
                args=(),
                kwargs=payload,
                task_id=task_id,
                producer=producer,
                link=link,
                link_error=link_error,
                shadow=shadow,
                **options,
            )
        self._record(result.id, settings)
        return result

    def _record(self, task_id: str, settings: Any) -> None:
        """Keep the task's contract name in a shared store, so any process reads its result typed.

        The task is already queued: a store that fails now is logged, never raised (nothing is lost,
        the worker stores its result when the store is back).
        """
        if settings is not None and stores.is_shared(settings.result_backend):
            try:
                stores.record_submitted(self._get_app(), task_id, self.name)
            except CeleryTasksError as exc:
                logger.warning("%s", exc)

    async def adelay(self, *args: Any, **kwargs: Any) -> TypedAsyncResult[ResultT]:
        """Validate and send without blocking the event loop; ``await handle.aget()`` for the result."""
        from celery_tasks.async_client import send  # noqa: PLC0415 - async_client imports this module

        handle: TypedAsyncResult[ResultT] = await send(self, args, kwargs, {})
        return handle

    def report_progress(self, value: BaseModel | Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """Report progress from the implementation, validated against ``Progress`` (InvalidProgress if not)."""
        progress.report(self, value, fields)

    def delay_many(
        self, calls: Iterable[Any], *, window: int = 1000, **options: Any
    ) -> list[TypedAsyncResult[ResultT]]:
        """Validate every call, then send them all with the broker's confirms awaited in batches.

        Each call is a mapping of keyword arguments, a sequence of positional arguments
        or an instance of the argument model. Nothing is sent when any call is invalid;
        when this returns, every task is persistent in its queue. See celery_tasks.bulk.
        """
        app = self._get_app()
        settings = getattr(app, "settings", None)
        try:
            with broker_errors(settings, f"cannot send {self.name}"):
                sent = submit_many(self, calls, window=window, **options)
        except PublishRefused as exc:  # the accepted ones are queued: record them too
            self._record_many([handle.id for handle in getattr(exc, "accepted", ())], settings)
            raise
        self._record_many([handle.id for handle in sent], settings)
        return sent

    def _record_many(self, task_ids: Sequence[str], settings: Any) -> None:
        """The submitted records of a bulk send, batched; like ``_record``, a store failure is logged only."""
        if settings is not None and stores.is_shared(settings.result_backend):
            try:
                stores.record_submitted_many(self._get_app(), task_ids, self.name)
            except CeleryTasksError as exc:
                logger.warning("%s", exc)

    def check_payload_size(self, payload: Mapping[str, Any]) -> None:
        """Refuse a payload whose JSON form exceeds the app's configured limit."""
        limit = getattr(self._get_app(), "max_payload_bytes", None)
        if limit is None:
            return
        size = len(json.dumps(payload, separators=(",", ":")).encode())
        if size > limit:
            raise PayloadTooLarge(
                f"payload for {self.name} is {size} bytes, over the limit of {limit} bytes "
                "(CELERY_TASKS_MAX_PAYLOAD_BYTES); pass a reference to the data instead"
            )

    def AsyncResult(self, task_id: str, **kwargs: Any) -> TypedAsyncResult[ResultT]:  # noqa: N802
        """A result handle whose get() returns the contract's result model."""
        return TypedAsyncResult(
            task_id,
            backend=self.backend,
            task_name=self.name,
            app=self._get_app(),
            contract=type(self),
            **kwargs,
        )

    def check_message_version(self) -> None:
        """Refuse the current message when it carries a contract version this worker cannot run."""
        stack = getattr(self, "request_stack", None)
        request = stack.top if stack is not None else None
        if request is None:
            return
        sent = _request_header(request, headers.VERSION)
        if sent is None:
            return
        accepted = self.accepted_versions()
        if not isinstance(sent, int) or sent not in accepted:
            raise UnsupportedVersion(
                f"message for {self.name} has contract version {sent}; this worker runs version "
                f"{self.version} and accepts {accepted.start}..{accepted.stop - 1}. "
                "It is parked: replay it once a consumer that supports it is running"
            )

    if TYPE_CHECKING:

        def run(self, args: ArgsT, /) -> ResultT:
            """Implement the contract in the consumer service."""

        def delay(self, *args: Any, **kwargs: Any) -> TypedAsyncResult[ResultT]:
            """Validate and send, as apply_async(args, kwargs)."""

    else:

        def run(self, *args: Any, **kwargs: Any) -> Any:
            """Stubs cannot run: only the implementing service can."""
            raise ContractNotImplemented(
                f"{self.name} is a contract stub from celery_tasks and has no implementation here; "
                f"it is implemented by {self.implemented_by}. Send it with .delay() and let that "
                "service's worker run it"
            )


def _request_header(request: Any, key: str) -> Any:
    """A custom message header as the worker's request context exposes it."""
    value = getattr(request, key, None)
    if value is None and isinstance(getattr(request, "headers", None), Mapping):
        value = request.headers.get(key)
    return value


def _validating_run(implementation: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an implementation so that it receives the argument model and returns checked JSON."""

    @functools.wraps(implementation)
    def run(self: Contract[Any, Any], *args: Any, **kwargs: Any) -> Any:
        self.check_message_version()
        arguments = self.parse_arguments(args, kwargs, lenient=True)
        result = self.parse_result(implementation(self, arguments))
        return result.model_dump(mode="json")

    run.__contract_run__ = True  # type: ignore[attr-defined]
    return run


def _check_definition(cls: type[Contract[Any, Any]]) -> None:
    """Fail at import time when a contract is declared wrongly."""
    if not NAME_PATTERN.match(cls.name):
        raise ContractDefinitionError(f"contract name {cls.name!r} must be dotted lowercase, like 'crawler.fetch_page'")
    model = getattr(cls, "Progress", None)
    if model is not None and not (isinstance(model, type) and issubclass(model, ContractProgress)):
        raise ContractDefinitionError(f"contract {cls.name}: Progress must be a subclass of ContractProgress")
    for attribute, base in (("Args", ContractArgs), ("Result", ContractResult)):
        model = getattr(cls, attribute, None)
        if not (isinstance(model, type) and issubclass(model, base)):
            raise ContractDefinitionError(f"contract {cls.name} needs {attribute}, a subclass of {base.__name__}")
    if not isinstance(cls.version, int) or cls.version < 1:
        raise ContractDefinitionError(f"contract {cls.name} needs an integer version of 1 or more")
