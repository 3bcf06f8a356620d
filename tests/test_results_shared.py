"""Shared result stores (issue 16) on a real Redis and a real PostgreSQL: typed results and progress from any
thread, cancellations that outlive workers, and clear errors for a wrong progress shape or a store that is down."""

import asyncio
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from celery import states
from celery.exceptions import TaskRevokedError
from celery_tasks.errors import InvalidProgress, NotCancellable, ResultNotReachable, ResultStoreUnavailable
from celery_tasks.runtime.revocations import cancel
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.ports import free_port
from celery_tasks_devtools.testing import entry_point, queue_depth, settings_env
from producer.task_store import MalformedTaskId, UnknownTask, cancel_task

from celery_tasks import create_app

sys.path.insert(0, str(Path(__file__).parent))
pytest_plugins = ["results_stores"]  # store_url (Redis, PostgreSQL) and shared_settings

QUEUES = ["diagnostics.echo", "diagnostics.sleep", "diagnostics.crash"]
CONTRACTS = [diagnostics.Echo, diagnostics.Sleep, diagnostics.Crash]


def start_worker(start_service, settings, *extra):
    return start_service([entry_point("consumer-diagnostics"), *extra], QUEUES, settings=settings)


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached after {timeout} s")


def test_typed_result_progress_and_get_from_another_thread(start_service, shared_settings):
    app = create_app(CONTRACTS, shared_settings)
    start_worker(start_service, shared_settings, "--concurrency=2")
    handle = app.tasks["diagnostics.sleep"].delay(seconds=2.5)
    reported = wait_for(lambda: handle.progress, what="a progress report")
    assert isinstance(reported, diagnostics.SleepProgress)
    assert 0 < reported.slept < 2.5 and reported.seconds == 2.5
    found: list[object] = []
    reader = threading.Thread(target=lambda: found.append(handle.get(timeout=30)))
    reader.start()
    reader.join(timeout=40)
    assert isinstance(found[0], diagnostics.SleepResult) and found[0].slept >= 2.5
    assert handle.progress is None  # finished: SUCCESS, no progress left
    echo = app.tasks["diagnostics.echo"].delay(text="shared", number=3).get(timeout=30)
    assert (echo.text, echo.number) == ("shared", 3)
    with pytest.raises(Exception, match="boom") as failure:
        app.tasks["diagnostics.crash"].delay(message="boom").get(timeout=30)
    assert type(failure.value).__name__ == "RequestedFailure"
    app.close()


def test_async_client_sends_and_awaits_typed_results(start_service, shared_settings):
    app = create_app(CONTRACTS, shared_settings)
    start_worker(start_service, shared_settings, "--concurrency=2")
    echo = app.tasks["diagnostics.echo"]

    async def run():
        handles = await asyncio.gather(*(echo.adelay(text=f"a{n}", number=n) for n in range(10)))
        return await asyncio.gather(*(handle.aget(timeout=30) for handle in handles))

    results = asyncio.run(run())
    assert [(r.text, r.number) for r in results] == [(f"a{n}", n) for n in range(10)]
    with pytest.raises(Exception, match="number"):
        asyncio.run(echo.adelay(text="x", number="not a number"))
    app.close()


def test_rpc_get_from_another_thread_fails_at_once(task_settings):
    app = create_app(CONTRACTS, task_settings)  # rpc://
    handle = app.tasks["diagnostics.echo"].delay(text="nobody reads me")
    errors: list[BaseException] = []

    def read():
        try:
            handle.get(timeout=600)
        except BaseException as exc:
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=20)  # a silent wait would last 600 s
    assert not reader.is_alive()
    assert isinstance(errors[0], ResultNotReachable)
    assert "another thread" in str(errors[0]) and "redis://" in str(errors[0])
    app.close()


def test_a_queued_task_cancelled_never_runs_even_on_a_worker_started_later(start_service, shared_settings, tmp_path):
    app = create_app(CONTRACTS, shared_settings)
    marker = tmp_path / "runs.txt"
    sleep = app.tasks["diagnostics.sleep"]
    cancelled = sleep.delay(seconds=0.1, marker=str(marker))
    kept = sleep.delay(seconds=0.1, marker=str(marker))
    done = cancel(app, cancelled.id)
    assert done.lasting and done.previous_state == states.PENDING
    # The worker starts after the cancel: only the shared store can tell it.
    start_worker(start_service, shared_settings, "--concurrency=1")
    assert kept.get(timeout=60).slept >= 0.1
    wait_for(lambda: queue_depth(app, "diagnostics.sleep") == 0, what="an empty queue")
    assert cancelled.state == states.REVOKED
    with pytest.raises(TaskRevokedError):
        cancelled.get(timeout=5)
    runs = marker.read_text()
    assert f"start {kept.id}" in runs and cancelled.id not in runs
    app.close()


def test_a_running_task_is_stopped_and_others_untouched(start_service, shared_settings, tmp_path):
    app = create_app(CONTRACTS, shared_settings)
    start_worker(start_service, shared_settings, "--pool=prefork", "--concurrency=2")
    marker = tmp_path / "runs.txt"
    sleep = app.tasks["diagnostics.sleep"]
    running = sleep.delay(seconds=60, marker=str(marker))
    other = sleep.delay(seconds=1, marker=str(marker))
    wait_for(lambda: marker.exists() and f"start {running.id}" in marker.read_text(), what="the task to start")
    assert cancel(app, running.id).previous_state in {states.STARTED, "PROGRESS"}
    wait_for(lambda: running.state == states.REVOKED, timeout=30, what="REVOKED")
    assert other.get(timeout=60).slept >= 1
    time.sleep(1)  # a terminated task could only have written its end line by now
    assert f"end {running.id}" not in marker.read_text()
    app.close()


def test_cancel_of_a_finished_or_unknown_task(start_service, shared_settings):
    app = create_app(CONTRACTS, shared_settings)
    start_worker(start_service, shared_settings, "--concurrency=1")
    finished = app.tasks["diagnostics.echo"].delay(text="done")
    finished.get(timeout=30)
    with pytest.raises(NotCancellable, match="already finished"):
        cancel_task(app, finished.id)
    assert finished.state == states.SUCCESS  # untouched
    with pytest.raises(UnknownTask, match="unknown task id"):
        cancel_task(app, str(uuid.uuid4()))
    with pytest.raises(MalformedTaskId):
        cancel_task(app, "not-a-task-id")
    app.close()


def test_progress_of_the_wrong_shape_is_refused_in_the_worker(shared_settings):
    app = create_app(CONTRACTS, shared_settings)
    sleep = app.tasks["diagnostics.sleep"]
    task_id = str(uuid.uuid4())
    sleep.push_request(id=task_id)  # as inside a running task
    try:
        with pytest.raises(InvalidProgress, match="slept"):
            sleep.report_progress(slept="a while", seconds=2)
        with pytest.raises(InvalidProgress, match="extra"):
            sleep.report_progress(slept=1, seconds=2, extra=True)
        assert sleep.AsyncResult(task_id).progress is None  # nothing was stored
        sleep.report_progress(slept=1, seconds=2)
    finally:
        sleep.pop_request()
    assert sleep.AsyncResult(task_id).progress == diagnostics.SleepProgress(slept=1, seconds=2)
    with pytest.raises(InvalidProgress, match="declares no Progress"):
        app.tasks["diagnostics.echo"].report_progress(done=1)
    app.close()


def test_a_redis_store_that_is_down_is_named_without_its_password(task_settings):
    url = f"redis://:s3cret-pw@127.0.0.1:{free_port()}/0"
    settings = task_settings.model_copy(update={"result_backend": url, "connect_timeout": 1.0, "publish_retries": 0})
    app = create_app(CONTRACTS, settings)
    with pytest.raises(ResultStoreUnavailable) as error:
        app.tasks["diagnostics.echo"].delay(text="kept by the caller")
    message = str(error.value)
    assert "redis://:***@127.0.0.1" in message and "s3cret-pw" not in message and "nothing was sent" in message
    assert queue_depth(app, "diagnostics.echo") == 0
    app.close()


def test_a_database_store_that_is_down_keeps_the_task_queued(task_settings):
    url = f"db+postgresql+psycopg://postgres:s3cret-pw@127.0.0.1:{free_port()}/results"
    settings = task_settings.model_copy(update={"result_backend": url, "connect_timeout": 1.0, "publish_retries": 0})
    app = create_app(CONTRACTS, settings)
    handle = app.tasks["diagnostics.echo"].delay(text="still queued")
    assert queue_depth(app, "diagnostics.echo") == 1  # sent: the worker stores its result when the store is back
    with pytest.raises(ResultStoreUnavailable) as error:
        handle.get(timeout=5)
    message = str(error.value)
    assert "postgres:***@127.0.0.1" in message and "s3cret-pw" not in message
    assert settings_env(settings)["CELERY_TASKS_RESULT_BACKEND"] == url  # the setting itself is kept as given
    app.close()
