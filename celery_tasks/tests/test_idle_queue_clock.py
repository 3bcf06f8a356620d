"""The no-consumer clock of .get(): a worker restarting while a caller waits does not fail the caller at once.

Regression: the clock used to start at the handle's creation whenever it first saw no consumer,
so a caller that had waited 30 s on a busy worker got NoConsumer the moment that worker was
replaced (tests/test_performance_paths.py, stop mid-stream, failed under load this way).
"""

from celery_tasks.runtime.results import IdleQueueClock


def test_a_queue_never_seen_with_a_consumer_is_idle_since_the_wait_began():
    clock = IdleQueueClock(since=100.0)
    assert clock.idle_for(0, now=101.0) == 1.0
    assert clock.idle_for(0, now=106.0) == 6.0


def test_a_consumer_that_goes_away_starts_the_clock_when_it_is_found_gone():
    clock = IdleQueueClock(since=0.0)  # the handle is old: created 60 s before the checks below
    assert clock.idle_for(1, now=60.0) == 0.0
    assert clock.idle_for(0, now=61.0) == 0.0, "not 61 s: the queue had a consumer a moment ago"
    assert clock.idle_for(0, now=63.5) == 2.5
    assert clock.idle_for(1, now=64.0) == 0.0, "a new consumer resets the clock"
    assert clock.idle_for(0, now=70.0) == 0.0
    assert clock.idle_for(0, now=76.0) == 6.0
