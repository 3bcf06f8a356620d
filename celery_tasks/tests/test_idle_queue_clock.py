"""The no-consumer clock of a result handle: it counts only time seen without consumers, across get() calls.

Regression: the clock used to start at the handle's creation whenever it first saw no consumer,
so a caller that had waited 30 s on a busy worker got NoConsumer the moment that worker was
replaced (tests/test_performance_paths.py, stop mid-stream, failed under load this way). It
also belongs to the handle, so short repeated get() calls (the CLI's progress bar) add up.
"""

import pytest
from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery_tasks.errors import NoConsumer
from celery_tasks.runtime.results import IdleQueueClock
from celery_tasks.tasks.diagnostics import Echo

from celery_tasks import create_app


def test_the_clock_starts_at_the_first_check_that_finds_no_consumer():
    clock = IdleQueueClock()
    assert clock.idle_for(0, now=101.0) == 0.0
    assert clock.idle_for(0, now=103.5) == 2.5
    assert clock.idle_for(0, now=107.0) == 6.0


def test_a_consumer_that_goes_away_starts_the_clock_when_it_is_found_gone():
    clock = IdleQueueClock()
    assert clock.idle_for(1, now=60.0) == 0.0
    assert clock.idle_for(0, now=61.0) == 0.0, "the queue had a consumer a moment ago"
    assert clock.idle_for(0, now=63.5) == 2.5
    assert clock.idle_for(1, now=64.0) == 0.0, "a new consumer resets the clock"
    assert clock.idle_for(0, now=70.0) == 0.0
    assert clock.idle_for(0, now=76.0) == 6.0


def test_short_get_calls_on_one_handle_add_up(task_settings):
    """Ten get(timeout=0.3) calls on a queue without consumer end in NoConsumer, as one long get() would."""
    app = create_app([Echo], task_settings.model_copy(update={"no_consumer_timeout": 1.0}))
    handle = app.tasks[Echo.name].delay(text="nobody listens")
    with pytest.raises(NoConsumer, match="has had no consumer"):
        for _ in range(40):
            try:
                handle.get(timeout=0.3)
            except CeleryTimeoutError:
                continue
