"""Fault drills on worker processes (scenarios 1, 2, 5, 10, 11): real consumers, the shared broker, a vhost each.

Every drill keeps a ledger (the diagnostics worker's SQLite file): which keys were sent,
which runs started (with pid and redelivery flag) and which side effects were stored. A
drill passes only with nothing lost, nothing duplicated and nothing unexpected.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.testing import entry_point, queue_depth, wait_for_parked

from celery_tasks import create_app

sys.path.insert(0, str(Path(__file__).parent))
import faults

RECORD = ["diagnostics.record"]


@pytest.fixture
def ledger(tmp_path):
    return tmp_path / "ledger.sqlite"


@pytest.fixture
def diagnostics_app(task_settings):
    return create_app(diagnostics.CONTRACTS, task_settings)


@pytest.fixture
def worker(start_service, ledger):
    """Start a diagnostics worker writing the test's ledger."""

    def start(*argv, settings=None, queues=RECORD, env=None):
        environment = {"DIAGNOSTICS_LEDGER_PATH": str(ledger), **(env or {})}
        return start_service([entry_point("consumer-diagnostics"), *argv], queues, env=environment, settings=settings)

    return start


def runs_started(ledger, key, count=1):
    return faults.read_ledger(ledger).runs[key] >= count


def test_1_sigkill_consumer_mid_task_is_redelivered_and_completed(worker, diagnostics_app, ledger):
    first = worker("--concurrency=1")
    record = diagnostics_app.tasks[diagnostics.Record.name]
    keys = [f"s1-{n}" for n in range(4)]
    results = {key: record.delay(key=key, seconds=60, redelivered_seconds=0.1) for key in keys[:1]}
    faults.wait_until(lambda: runs_started(ledger, keys[0]), 60, "the first task to start")
    results |= {key: record.delay(key=key, seconds=0.1) for key in keys[1:]}

    faults.kill_group(first)  # like `docker kill`: the worker and its pool die at once, nothing is acked
    worker("--concurrency=1")  # the replacement (a restarted container)

    verdict, view = faults.await_effects(ledger, keys, timeout=60)
    print(f"scenario 1: {verdict}")
    assert verdict.ok, verdict
    values = {key: result.get(timeout=60) for key, result in results.items()}
    assert view.runs[keys[0]] == 2 and view.redelivered[keys[0]] == 1, "the killed task ran again, redelivered"
    assert values[keys[0]].first and values[keys[0]].runs == 2
    assert all(view.runs[key] == 1 for key in keys[1:])


def test_2_sigkill_one_pool_child_requeues_its_task(worker, diagnostics_app, ledger):
    service = worker("--concurrency=2")
    record = diagnostics_app.tasks[diagnostics.Record.name]
    victim = record.delay(key="s2-victim", seconds=60, redelivered_seconds=0.1)
    bystander = record.delay(key="s2-bystander", seconds=2)
    faults.wait_until(lambda: runs_started(ledger, "s2-victim") and runs_started(ledger, "s2-bystander"), 60, "both")
    child = faults.read_ledger(ledger).run_pids["s2-victim"][0]
    assert child in faults.children(service.pid), "the task runs in a pool child of the worker"

    faults.signal_process(child, signal.SIGKILL)  # a simulated OOM kill of one child

    verdict, view = faults.await_effects(ledger, ["s2-victim", "s2-bystander"], timeout=60)
    print(f"scenario 2: {verdict}")
    assert verdict.ok, verdict
    value = victim.get(timeout=60)
    assert bystander.get(timeout=60).runs == 1
    assert view.runs["s2-victim"] == 2 and view.redelivered["s2-victim"] == 1, "requeued, not acknowledged"
    assert value.first and value.runs == 2
    assert service.process.poll() is None, "the worker survives and replaces its child"


@pytest.mark.broker_compat
def test_5_task_that_always_kills_its_worker_is_dead_lettered_while_the_rest_flows(
    worker, base_settings, vhost, management, ledger
):
    settings = base_settings.with_vhost(vhost).model_copy(update={"delivery_limit": 2})
    app = create_app(diagnostics.CONTRACTS, settings)
    worker("--concurrency=2", settings=settings, queues=["diagnostics.crash", "diagnostics.record"])
    crash = app.tasks[diagnostics.Crash.name]
    record = app.tasks[diagnostics.Record.name]

    poison = crash.delay(mode="exit", message="poison")
    ordinary = [crash.delay(mode="raise", message=f"ordinary {n}") for n in range(5)]
    keys = [f"s5-{n}" for n in range(20)]
    records = [record.delay(key=key, seconds=0.05) for key in keys]

    for n, result in enumerate(ordinary):
        with pytest.raises(Exception, match=f"ordinary {n}"):
            result.get(timeout=60)
    assert all(result.get(timeout=60).first for result in records)
    expected = [poison.id, *(r.id for r in ordinary)]
    parked = wait_for_parked(management, vhost, "diagnostics.crash.dlq", 6, timeout=120, ids=expected)
    by_id = {headers["id"]: headers for headers in parked}
    poisoned = by_id[poison.id]
    deaths = poisoned["x-death"]
    print(f"scenario 5: poison dead-lettered with x-death {deaths}")
    assert deaths[0]["reason"] == "delivery_limit" and deaths[0]["queue"] == "diagnostics.crash"
    assert sorted(by_id[r.id]["x-error-type"] for r in ordinary) == ["RequestedFailure"] * 5
    assert queue_depth(app, "diagnostics.crash") == 0
    verdict = faults.score(keys, faults.read_ledger(ledger))
    assert verdict.ok, verdict


def test_10_soft_and_hard_time_limits_run_cleanup_fail_once_and_do_not_loop(
    worker, base_settings, vhost, management, ledger
):
    settings = base_settings.with_vhost(vhost).model_copy(update={"soft_time_limit": 1.0, "time_limit": 3.0})
    app = create_app(diagnostics.CONTRACTS, settings)
    worker("--concurrency=2", settings=settings)
    record = app.tasks[diagnostics.Record.name]

    soft = record.delay(key="s10-soft", seconds=30)
    hard = record.delay(key="s10-hard", seconds=30, ignore_soft_limit=True)
    with pytest.raises(Exception, match="SoftTimeLimitExceeded|soft time limit") as soft_error:
        soft.get(timeout=60)
    with pytest.raises(Exception, match="TimeLimitExceeded|hard time limit") as hard_error:
        hard.get(timeout=60)
    print(f"scenario 10: soft -> {soft_error.value!r}; hard -> {hard_error.value!r}")

    parked = wait_for_parked(management, vhost, "diagnostics.record.dlq", 2, timeout=60)
    assert {h["id"]: h["x-error-type"] for h in parked} == {
        soft.id: "SoftTimeLimitExceeded",
        hard.id: "TimeLimitExceeded",
    }
    time.sleep(5)  # a redelivery loop would start the tasks again meanwhile
    view = faults.read_ledger(ledger)
    assert view.cleanups == {"s10-soft": 1, "s10-hard": 1}, "cleanup ran once in each"
    assert view.runs == {"s10-soft": 1, "s10-hard": 1}, "each failed once, no redelivery"
    assert not view.effects
    assert queue_depth(app, "diagnostics.record") == 0


def test_11_sigterm_lets_running_tasks_finish_or_requeues_them(worker, base_settings, vhost, ledger):
    settings = base_settings.with_vhost(vhost).model_copy(update={"shutdown_grace": 3.0})
    app = create_app(diagnostics.CONTRACTS, settings)
    first = worker("--concurrency=2", settings=settings)
    record = app.tasks[diagnostics.Record.name]
    short = record.delay(key="s11-short", seconds=1.5)
    long = record.delay(key="s11-long", seconds=120, redelivered_seconds=0.1)
    faults.wait_until(lambda: runs_started(ledger, "s11-short") and runs_started(ledger, "s11-long"), 60, "both")

    first.signal(signal.SIGTERM)  # `docker stop`: SIGTERM, then SIGKILL once its stop grace period is over
    try:
        code = first.process.wait(timeout=30)  # far less than compose's 30 s grace after the 3 s of ours
    except subprocess.TimeoutExpired:
        faults.kill_group(first)
        code = None
    log = first.log_text()
    assert code is not None, f"the worker did not stop by itself after its grace period:\n{log[-3000:]}"
    assert "Warm shutdown" in log and "Cold shutdown" in log, "warm first, cold once the grace period is over"
    worker("--concurrency=2", settings=settings)
    verdict, view = faults.await_effects(ledger, ["s11-short", "s11-long"], timeout=60)
    print(f"scenario 11: worker exit code {code}; {verdict}")
    assert verdict.ok, verdict
    assert short.get(timeout=60).runs == 1 and long.get(timeout=60).first
    assert view.runs["s11-short"] == 1, "the short task finished within the grace period"
    assert view.runs["s11-long"] == 2 and view.redelivered["s11-long"] == 1, "the long one was requeued"
