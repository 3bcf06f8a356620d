"""Who may call the HTTP API: bearer keys, per-key scopes and limits, and the per-caller OpenAPI document.

``Guard`` is a dependency of every route (set on the application, so routes added later get it too);
it lets ``/healthz`` through and otherwise answers 401 (no key, malformed, wrong or revoked key),
429 (rate or in-flight cap) or 403 (contract outside the key's scopes) before the route runs.
``install`` adds what must wrap the finished application: the audit log and the filtered OpenAPI.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol

from fastapi import FastAPI, HTTPException, Request, Security
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from producer import audit
from producer.keys import KeyStore
from producer.quotas import InFlight, RateLimits, Reservation
from producer.scopes import Action, Caller
from producer.settings import ProducerSettings

PUBLIC_PATHS = frozenset({"/healthz"})
TASK_PATH = "/tasks/{task_id}"
SUBMIT_PREFIX = "/tasks/"
UNKNOWN_CONTRACT_PATH = "/tasks/{name}"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="producer"'}
BEARER = HTTPBearer(auto_error=False, description="An API key from `producer keys create`.")


class TaskInfo(Protocol):
    """What the guard needs to know about a submitted task."""

    name: str | None  # None when the store does not say which contract the task belongs to
    ready: bool


#: The task of an id (None when unknown), from wherever the API keeps them.
Lookup = Callable[[str], Awaitable[TaskInfo | None]]


class Unauthorized(Exception):
    """Answered as a bare 401 with a ``WWW-Authenticate`` challenge: no body, no reason."""


class Guard:
    """The authentication and authorization dependency of every route."""

    def __init__(self, store: KeyStore, settings: ProducerSettings, lookup: Lookup, contracts: list[str]) -> None:
        self.store = store
        self.settings = settings
        self.lookup = lookup
        self.contracts = contracts
        self.rates = RateLimits(settings.api_rate_storage)
        self.in_flight = InFlight()

    @classmethod
    def from_settings(cls, settings: ProducerSettings, lookup: Lookup, contracts: list[str]) -> Guard:
        """A guard over the keys of PRODUCER_API_KEYS_FILE or PRODUCER_API_KEYS (KeysFileError if neither)."""
        text = settings.api_keys.get_secret_value() if settings.api_keys is not None else None
        return cls(KeyStore(settings.api_keys_file, text), settings, lookup, contracts)

    async def __call__(
        self, request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]
    ) -> Caller | None:
        """Let the request through with its caller, or raise the refusal."""
        route = request.scope.get("route")
        path = route.path if isinstance(route, APIRoute) else request.url.path
        state: dict[str, Any] = request.scope.setdefault("state", {})
        record = audit.fields(state)
        record["route"] = path
        if path in PUBLIC_PATHS:
            return None
        if credentials is None:
            record["reason"] = "missing or malformed Authorization header"
            raise Unauthorized
        key, reason = await run_in_threadpool(self.store.verify, credentials.credentials)
        if key is None:
            record["reason"] = reason
            raise Unauthorized
        caller = Caller(key)
        record["key_id"] = caller.key_id
        wait = self.rates.hit(caller.key_id, key.rate or self.settings.api_rate_limit)
        if wait is not None:
            record["reason"] = "rate limit"
            raise HTTPException(
                429,
                f"key {caller.key_id} is over its rate of {key.rate or self.settings.api_rate_limit}",
                headers={"Retry-After": str(wait)},
            )
        request.state.caller = caller
        if request.method == "POST" and path.startswith(SUBMIT_PREFIX) and path != UNKNOWN_CONTRACT_PATH:
            await self._check_submit(state, caller, path.removeprefix(SUBMIT_PREFIX), record)
        elif path == TASK_PATH and request.method in ("GET", "DELETE"):
            action: Action = "read" if request.method == "GET" else "cancel"
            task = await self.lookup(request.path_params["task_id"])
            if task is not None:
                contract = task.name or "?"  # an unnamed task: only a key with scope * reaches it
                record["contract"] = contract
                record["task_id"] = request.path_params["task_id"]
                self._require(caller, action, contract, record)
        return caller

    async def _check_submit(self, state: dict[str, Any], caller: Caller, contract: str, record: dict[str, Any]) -> None:
        record["contract"] = contract
        self._require(caller, "submit", contract, record)
        cap = caller.record.max_in_flight or self.settings.api_max_in_flight
        reservation = await self.in_flight.reserve(caller.key_id, cap, self._is_done)
        if reservation is None:
            record["reason"] = "in-flight cap"
            raise HTTPException(
                429,
                f"key {caller.key_id} has {cap} unfinished tasks, its cap; wait for some to finish",
                headers={"Retry-After": str(self.settings.api_in_flight_retry_after)},
            )
        state[audit.SETTLE] = lambda status, task_id: self._settle(reservation, status, task_id)

    def _settle(self, reservation: Reservation, status: int, task_id: str | None) -> None:
        self.in_flight.settle(reservation, task_id if status == 202 else None)

    async def _is_done(self, task_id: str) -> bool:
        task = await self.lookup(task_id)
        return task is None or task.ready

    @staticmethod
    def _require(caller: Caller, action: Action, contract: str, record: dict[str, Any]) -> None:
        if not caller.may(action, contract):
            record["reason"] = f"out of scope ({action})"
            raise HTTPException(403, f"key {caller.key_id} may not {action} {contract} tasks (outside its scopes)")

    def visible_contracts(self, caller: Caller | None) -> list[str]:
        """The contracts the caller may submit (every one for an admin key)."""
        if caller is None:
            return []
        return [name for name in self.contracts if caller.record.admin or caller.may("submit", name)]

    def usable(self, caller: Caller, route: APIRoute) -> bool:
        """Whether the route belongs in the caller's OpenAPI document."""
        if caller.record.admin:
            return True
        if route.path == TASK_PATH:
            return any(
                caller.may_any(_action(m), self.contracts) for m in route.methods or () if m in ("GET", "DELETE")
            )
        if "POST" in (route.methods or ()) and route.path.startswith(SUBMIT_PREFIX):
            return caller.may("submit", route.path.removeprefix(SUBMIT_PREFIX))
        return True


def _action(method: str) -> Action:
    return "read" if method == "GET" else "cancel"


def install(api: FastAPI, guard: Guard) -> None:
    """Wrap the finished application: bare 401s, per-caller OpenAPI and docs, and the audit log (outermost)."""
    audit.configure_logger()

    async def unauthorized(_: Request, __: Exception) -> Response:
        return Response(status_code=401, headers=CHALLENGE)

    api.add_exception_handler(Unauthorized, unauthorized)
    builtin = {api.openapi_url, api.docs_url, api.redoc_url, api.swagger_ui_oauth2_redirect_url}
    api.router.routes = [r for r in api.router.routes if getattr(r, "path", None) not in builtin]
    cache: dict[tuple[str, ...], dict[str, Any]] = {}

    async def openapi(request: Request) -> dict[str, Any]:
        caller: Caller = request.state.caller
        routes = [r for r in api.routes if isinstance(r, APIRoute) and r.include_in_schema and guard.usable(caller, r)]
        signature = tuple(f"{sorted(r.methods or ())}{r.path}" for r in routes)
        if signature not in cache:
            document = get_openapi(
                title=api.title, version=api.version, summary=api.summary, description=api.description, routes=routes
            )
            for public in PUBLIC_PATHS:
                for operation in document.get("paths", {}).get(public, {}).values():
                    operation.pop("security", None)
            cache[signature] = document
        return cache[signature]

    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{api.title} - docs")

    api.add_api_route("/openapi.json", openapi, methods=["GET"], include_in_schema=False)
    api.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)
    api.add_middleware(audit.AuditLog)
