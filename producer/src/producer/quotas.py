"""Per-key limits: a request rate (the `limits` library's moving window) and a cap on unfinished tasks."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

#: Whether a task is finished (or unknown): used to drop tasks from the in-flight count.
IsDone = Callable[[str], Awaitable[bool]]


class RateLimits:
    """One moving window per key; the storage may be shared by several API processes (``redis://...``)."""

    def __init__(self, storage_uri: str = "memory://") -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.items: dict[str, RateLimitItem] = {}

    def hit(self, key_id: str, rate: str) -> int | None:
        """Count one request of ``key_id``: None when allowed, else the seconds until one is allowed again."""
        item = self.items.get(rate)
        if item is None:
            item = self.items[rate] = parse(rate)
        if self.limiter.hit(item, "producer-api", key_id):
            return None
        reset_at, _ = self.limiter.get_window_stats(item, "producer-api", key_id)
        return max(1, math.ceil(reset_at - time.time()))


@dataclass
class Reservation:
    """A slot taken before a submit; confirmed with the task id once it was sent, released otherwise."""

    key_id: str
    done: bool = False


@dataclass
class _KeyTasks:
    tasks: set[str] = field(default_factory=set)
    reserved: int = 0


class InFlight:
    """Unfinished tasks per key (in this API process): a submit over the cap is refused."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: dict[str, _KeyTasks] = {}

    def count(self, key_id: str) -> int:
        """Tasks sent and not yet seen finished, plus submits under way."""
        with self.lock:
            entry = self.keys.get(key_id)
            return 0 if entry is None else len(entry.tasks) + entry.reserved

    async def reserve(self, key_id: str, cap: int, is_done: IsDone) -> Reservation | None:
        """A slot under ``cap``, or None; at the cap, finished tasks are dropped first."""
        if self.count(key_id) >= cap:
            with self.lock:
                candidates = list(self.keys.get(key_id, _KeyTasks()).tasks)
            finished = [task_id for task_id in candidates if await is_done(task_id)]
            with self.lock:
                self.keys.get(key_id, _KeyTasks()).tasks.difference_update(finished)
        with self.lock:
            entry = self.keys.setdefault(key_id, _KeyTasks())
            if len(entry.tasks) + entry.reserved >= cap:
                return None
            entry.reserved += 1
        return Reservation(key_id)

    def settle(self, reservation: Reservation, task_id: str | None) -> None:
        """End a reservation: the task id counts from now on, or (None) the slot is free again."""
        if reservation.done:
            return
        reservation.done = True
        with self.lock:
            entry = self.keys.setdefault(reservation.key_id, _KeyTasks())
            entry.reserved -= 1
            if task_id is not None:
                entry.tasks.add(task_id)
