"""A per-host delay between requests, shared by every thread of one process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

PRUNE_ABOVE = 10_000


class PolitenessGate:
    """Hands out request slots per host, at least ``delay`` seconds apart.

    A thread reserves the next free slot under a lock and then sleeps outside it,
    so threads fetching from one host queue up fairly while other hosts are not
    held back. Each worker process has its own gate (the threads pool shares one).
    """

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def reserve(self, host: str, delay: float) -> float:
        """Reserve the next slot for ``host`` and return its start time (on the gate's clock)."""
        with self._lock:
            now = self._clock()
            if len(self._next) > PRUNE_ABOVE:
                self._next = {key: value for key, value in self._next.items() if value > now}
            start = max(now, self._next.get(host, now))
            self._next[host] = start + delay
            return start

    def wait(self, host: str, delay: float) -> float:
        """Block until this thread's slot for ``host`` comes; returns the seconds waited."""
        if delay <= 0:
            return 0.0
        pause = self.reserve(host, delay) - self._clock()
        if pause > 0:
            self._sleep(pause)
            return pause
        return 0.0
