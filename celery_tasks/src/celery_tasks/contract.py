"""The contract base class: a Celery task with a name, a version and typed arguments and result.

A contract (a *stub*) lives in this package and has no implementation. The producer
calls it: ``FetchPage().delay(url=...)`` validates the arguments against the argument
model before anything is published, and ``.get()`` returns an instance of the result
model. A consumer subclasses the stub and implements ``run(self, args) -> result``;
the worker validates each message body before ``run`` and each return value after it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

import celery
from pydantic import BaseModel, ValidationError

from celery_tasks import headers
from celery_tasks.errors import (
    ContractNotImplemented,
    InvalidArguments,
    InvalidProgress,
    InvalidResult,
    UnsupportedVersion,
)
from celery_tasks.models import PROGRESS, ContractArgs, ContractProgress, ContractResult, WorkKind
from celery_tasks.ports import ResultHandle
from celery_tasks.validation import (
    bind_arguments,
    check_definition,
    describe_validation_error,
    payload_json,
    validate_progress,
)

ArgsT = TypeVar("ArgsT", bound=ContractArgs)
ResultT = TypeVar("ResultT", bound=ContractResult)

__all__ = ("Contract", "bind_arguments", "describe_validation_error")

logger = logging.getLogger(__name__)


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
    # The worker's request class (ContractRequest) is set by the runtime on the task it registers (create_app).

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        implementation = cls.__dict__.get("run")
        if implementation is not None and not getattr(implementation, "__contract_run__", False):
            cls.run = _validating_run(implementation)  # type: ignore[method-assign]
        redefined = any(key in cls.__dict__ for key in ("name", "version", "Args", "Result", "Progress"))
        if redefined and getattr(cls, "name", None):
            check_definition(cls)
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
    ) -> ResultHandle[ResultT]:
        """Validate the arguments (an ``Args`` instance is taken as it is), then publish the task once."""
        arguments = self.parse_arguments(args or (), kwargs)
        options.update(task_id=task_id, producer=producer, link=link, link_error=link_error, shadow=shadow)
        send = getattr(self.app, "send_contract", None)
        if send is not None:
            return cast(ResultHandle[ResultT], send(self, arguments, options))
        self.payload_json(arguments)
        return self.publish_with_celery(arguments, options)

    def payload_json(self, arguments: BaseModel) -> bytes:
        """The arguments as JSON, refused (PayloadTooLarge) over the app's ``max_payload_bytes``: the one size check."""
        return payload_json(self.name, arguments, getattr(self.app, "max_payload_bytes", None))

    def publish_with_celery(self, arguments: BaseModel, options: Mapping[str, Any]) -> ResultHandle[ResultT]:
        """Celery's own ``Task.apply_async`` with the contract headers; the caller has checked the payload size."""
        sent = {key: value for key, value in options.items() if key not in ("args", "kwargs")}
        sent["headers"] = {**(options.get("headers") or {}), **self.contract_headers()}
        return cast(
            ResultHandle[ResultT], super().apply_async(args=(), kwargs=arguments.model_dump(mode="json"), **sent)
        )

    async def adelay(self, *args: Any, **kwargs: Any) -> ResultHandle[ResultT]:
        """Validate and send without blocking the event loop; ``await handle.aget()`` for the result."""
        arguments = self.parse_arguments(args, kwargs)  # InvalidArguments here, in the caller, before any I/O
        send = getattr(self.app, "asend_contract", None)
        if send is not None:
            return cast(ResultHandle[ResultT], await send(self, arguments, {}))
        call = functools.partial(self.apply_async, (arguments,))
        return await asyncio.get_running_loop().run_in_executor(None, call)

    def report_progress(self, value: BaseModel | Mapping[str, Any] | None = None, /, **fields: Any) -> None:
        """Report progress from the implementation, validated against ``Progress`` (InvalidProgress if not).

        One ``update_state(PROGRESS, meta)`` through Celery's public API: the runtime is not involved.
        """
        reported = validate_progress(self.name, self.Progress, value, fields)
        task_id = getattr(self.request, "id", None)
        if task_id is None:
            raise InvalidProgress(f"{self.name}: report_progress works only inside a running task")
        self.update_state(task_id=task_id, state=PROGRESS, meta=reported.model_dump(mode="json"))

    def delay_many(self, calls: Iterable[Any], *, window: int = 1000, **options: Any) -> list[ResultHandle[ResultT]]:
        """Validate every call, then send them all with the broker's confirms awaited in batches.

        Each call is a mapping of keyword arguments, a sequence of positional arguments
        or an instance of the argument model. Nothing is sent when any call is invalid;
        when this returns, every task is persistent in its queue (see celery_tasks.runtime.bulk).
        On a plain Celery app the calls are validated, then sent one by one.
        """
        send = getattr(self.app, "send_contract_many", None)
        if send is not None:
            return cast(list[ResultHandle[ResultT]], send(self, calls, window, options))
        validated = [self.parse_call(call) for call in calls]
        return [self.apply_async((arguments,), **options) for arguments in validated]

    def parse_call(self, call: Any) -> ArgsT:
        """One call of ``delay_many`` (a mapping, a sequence or a model) as the argument model."""
        if isinstance(call, self.Args):
            return call  # type: ignore[return-value]
        if isinstance(call, BaseModel):
            return self.parse_arguments((), call.model_dump())
        if isinstance(call, Mapping):
            return self.parse_arguments((), call)
        if isinstance(call, Sequence) and not isinstance(call, str | bytes):
            return self.parse_arguments(call, {})
        raise InvalidArguments(
            f"invalid arguments for {self.name}: each call is a mapping of keyword arguments, a sequence of "
            f"positional arguments or a {self.Args.__name__}, not {type(call).__name__}"
        )

    def AsyncResult(self, task_id: str, **kwargs: Any) -> ResultHandle[ResultT]:  # noqa: N802
        """A result handle whose get() returns the contract's result model (on a contract app)."""
        handle = getattr(self.app, "contract_result", None)
        if handle is not None:
            return cast(ResultHandle[ResultT], handle(self, task_id, **kwargs))
        return cast(ResultHandle[ResultT], super().AsyncResult(task_id, **kwargs))

    def check_message_version(self) -> None:
        """Refuse the current message when it carries a contract version this worker cannot run."""
        try:
            request = self.request  # the running task's context (an empty one outside a task)
        except AttributeError:  # a task class never bound to an app has no request stack
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

        def delay(self, *args: Any, **kwargs: Any) -> ResultHandle[ResultT]:
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
