"""`producer dlq list/replay/purge` against a real broker and a real diagnostics worker, with crashes injected."""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import kombu
import pytest
import replay_crash
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks_devtools.testing import entry_point, queue_depth, settings_env, wait_for_parked

from celery_tasks import create_app

CRASH_LAUNCHER = Path(__file__).parent / "replay_crash.py"
SLEEP = "diagnostics.sleep"
SLEEP_DLQ = "diagnostics.sleep.dlq"
ECHO_DLQ = "diagnostics.echo.dlq"
DIAGNOSTIC_QUEUES = ["diagnostics.echo", "diagnostics.sleep", "diagnostics.crash"]


@pytest.fixture
def worker(start_service):
    # One process, so that the queue is worked in order and a final task marks "all done".
    return start_service([entry_point("consumer-diagnostics"), "--concurrency=1"], DIAGNOSTIC_QUEUES)


@pytest.fixture
def app(task_settings):
    return create_app(ALL_CONTRACTS, task_settings)


@pytest.fixture
def run_producer(task_settings, tmp_path):
    env = {**settings_env(task_settings), "PRODUCER_REPLAY_JOURNAL_DIR": str(tmp_path / "journal"), "COLUMNS": "200"}

    def run(*args, crash=None, stdin=None):
        command = [sys.executable, str(CRASH_LAUNCHER), crash] if crash else [entry_point("producer")]
        return subprocess.run(
            [*command, *args],
            check=False,
            env={**os.environ, **env},
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


def park_sleeps(app, management, vhost, tmp_path, count):
    """Sleep tasks whose marker folder is missing: each fails with FileNotFoundError and is parked."""
    marker = tmp_path / "markers" / "runs.txt"
    results = [app.tasks[SLEEP].delay(seconds=0, marker=str(marker)) for _ in range(count)]
    wait_for_parked(management, vhost, SLEEP_DLQ, count)
    return marker, [result.id for result in results]


def park_invalid_sleeps(app, management, vhost, count, already=0):
    """Sleep messages that bypass producer validation: the worker parks them as InvalidArguments."""
    ids = [app.send_task(SLEEP, kwargs={"seconds": "soon"}, queue=SLEEP).id for _ in range(count)]
    wait_for_parked(management, vhost, SLEEP_DLQ, already + count)
    return ids


def drain(app, queue):
    """Every message of a queue (ids from the Celery headers, with their headers), removed."""
    found = []
    with kombu.Connection(app.conf.broker_url) as connection:
        channel = connection.default_channel
        while (message := channel.basic_get(queue=queue, no_ack=False)) is not None:
            found.append(dict(message.headers or {}))
            channel.basic_ack(message.delivery_tag)
    return found


def finish_work(app, marker):
    """Wait until the single worker has run everything queued before this point (FIFO, concurrency 1)."""
    app.tasks[SLEEP].delay(seconds=0, marker=str(marker)).get(timeout=60)


def runs_by_id(marker: Path):
    lines = marker.read_text().splitlines() if marker.exists() else []
    return Counter(line.split()[1] for line in lines if line.startswith("end ")), len(lines)


@pytest.mark.broker_compat
def test_replay_survives_a_crash_at_every_phase(worker, app, management, vhost, tmp_path, run_producer):
    marker, valid = park_sleeps(app, management, vhost, tmp_path, 10)
    invalid = park_invalid_sleeps(app, management, vhost, 4, already=10)
    marker.parent.mkdir()  # the fault is fixed: the valid messages can run now

    outputs = []
    for phase in ("got", "published", "staged", "ack-sent", "acked", "forwarded"):
        crashed = run_producer("dlq", "replay", SLEEP, "--all", crash=f"2:{phase}")
        assert crashed.returncode == 75, crashed.stdout + crashed.stderr
        assert f"crash injected after {phase} #2" in crashed.stderr
        outputs.append(crashed.stdout)
    done = run_producer("dlq", "replay", SLEEP, "--all", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["remaining_in_dlq"] == len(invalid)
    # Once the broker has settled, every copy of every message is in exactly one place.
    assert queue_depth(app, "diagnostics.sleep.replay") == 0, "nothing is left in staging"
    # The recovery paths really ran: moves left in staging were finished, and parked copies
    # of messages that had already been moved were removed instead of being replayed again.
    log = "\n".join([*outputs, done.stderr])
    assert log.count("finished the interrupted move") >= 3, log
    assert log.count("a copy of a message replay had already moved") >= 2, log

    finish_work(app, marker)
    ran, _ = runs_by_id(marker)
    # Every valid message ran exactly once (plus the final marker task), none twice.
    assert set(valid) <= set(ran)
    assert all(count == 1 for count in ran.values()), ran
    assert len(ran) == len(valid) + 1
    assert queue_depth(app, SLEEP) == 0
    assert queue_depth(app, "diagnostics.sleep.replay") == 0
    # Every invalid message is parked exactly once, with the refusal as its reason.
    parked = drain(app, SLEEP_DLQ)
    assert sorted(h["id"] for h in parked) == sorted(invalid)
    for headers in parked:
        assert headers["x-reason"].startswith("replay refused: invalid arguments for diagnostics.sleep")
        assert headers["x-error-type"] == "InvalidArguments"
        assert headers["x-parked-before"].startswith("InvalidArguments: invalid arguments")
        assert headers["x-replay-count"] >= 1


@pytest.mark.broker_compat
def test_replay_counts_every_refused_copy_once_the_broker_has_moved_it(worker, app, management, vhost, run_producer):
    # Regression (a fresh-clone run once read 3 of 4): refused copies travel back to the .dlq through
    # the staging queue's at-least-once dead-lettering, inside the broker and after the replay's own
    # round trips; the count is taken once they have arrived, and every copy is accounted for.
    invalid = park_invalid_sleeps(app, management, vhost, 12)
    for attempt in range(3):
        done = run_producer("dlq", "replay", SLEEP, "--all", "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        report = json.loads(done.stdout)
        assert sorted(item["task_id"] for item in report["refused"]) == sorted(invalid), attempt
        assert report["remaining_in_dlq"] == len(invalid), attempt
    assert queue_depth(app, "diagnostics.sleep.replay") == 0
    assert queue_depth(app, SLEEP) == 0
    parked = drain(app, SLEEP_DLQ)
    assert sorted(h["id"] for h in parked) == sorted(invalid), "each invalid message is parked exactly once"
    assert all(h["x-replay-count"] == 3 for h in parked)


@pytest.mark.broker_compat
def test_replay_one_id_then_all_and_list_shows_reasons(worker, app, management, vhost, tmp_path, run_producer):
    marker, valid = park_sleeps(app, management, vhost, tmp_path, 3)
    invalid = park_invalid_sleeps(app, management, vhost, 1, already=3)

    listed = run_producer("dlq", "list", SLEEP, "--json")
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert document["total"] == 4
    by_id = {item["task_id"]: item for item in document["messages"]}
    assert set(by_id) == {*valid, *invalid}
    assert by_id[valid[0]]["error_type"] == "FileNotFoundError"
    assert "No such file or directory" in by_id[valid[0]]["reason"]
    assert by_id[valid[0]]["kwargs"] == {"seconds": 0, "marker": str(marker)}
    assert by_id[invalid[0]]["error_type"] == "InvalidArguments"
    table = run_producer("dlq", "list", SLEEP)
    assert "FileNotFoundError" in table.stdout and valid[0] in table.stdout

    marker.parent.mkdir()
    one = run_producer("dlq", "replay", SLEEP, "--id", valid[1])
    assert one.returncode == 0, one.stdout + one.stderr
    assert f"replayed {valid[1]}" in one.stdout
    finish_work(app, marker)
    ran, _ = runs_by_id(marker)
    assert ran[valid[1]] == 1 and valid[0] not in ran and valid[2] not in ran
    assert queue_depth(app, SLEEP_DLQ) == 3

    missing = run_producer("dlq", "replay", SLEEP, "--id", "no-such-task")
    assert missing.returncode == 1
    assert "no parked message of diagnostics.sleep has task id no-such-task" in missing.stderr
    assert queue_depth(app, SLEEP_DLQ) == 3

    rest = run_producer("dlq", "replay", f"{SLEEP}.dlq", "--all")
    assert rest.returncode == 0, rest.stdout + rest.stderr
    assert "2 replayed, 1 refused" in rest.stdout
    finish_work(app, marker)
    ran, _ = runs_by_id(marker)
    assert all(ran[task_id] == 1 for task_id in valid)
    refused = json.loads(run_producer("dlq", "list", SLEEP, "--json").stdout)["messages"]
    assert [(m["task_id"], m["replay_count"]) for m in refused] == [(invalid[0], 1)]
    assert refused[0]["reason"].startswith("replay refused:")


def test_replay_waits_for_the_lock_of_a_running_replay(app, management, vhost, run_producer, task_settings):
    with kombu.Connection(task_settings.broker_url) as holder:
        holder.default_channel.queue_declare(
            queue="diagnostics.echo.replay.lock",
            exclusive=True,
            auto_delete=True,
            arguments={"x-queue-type": "classic"},
        )
        blocked = run_producer("dlq", "replay", "diagnostics.echo", "--all", "--lock-timeout", "1")
    assert blocked.returncode == 1
    assert "another replay or purge of diagnostics.echo is running" in blocked.stderr
    free = run_producer("dlq", "replay", "diagnostics.echo", "--all")
    assert free.returncode == 0, free.stderr


def test_purge_asks_first(worker, app, management, vhost, run_producer):
    for _ in range(3):
        app.send_task("diagnostics.ecco", kwargs={"text": "x"}, queue="diagnostics.echo")
    wait_for_parked(management, vhost, ECHO_DLQ, 3)
    refused = run_producer("dlq", "purge", "diagnostics.echo", stdin="n\n")
    assert refused.returncode == 1
    assert "Delete the 3 message(s) parked in diagnostics.echo.dlq?" in refused.stdout
    assert queue_depth(app, ECHO_DLQ) == 3
    confirmed = run_producer("dlq", "purge", "diagnostics.echo", stdin="y\n")
    assert confirmed.returncode == 0, confirmed.stderr
    assert "removed 3 message(s) from diagnostics.echo.dlq" in confirmed.stdout
    assert queue_depth(app, ECHO_DLQ) == 0
    app.send_task("diagnostics.ecco", kwargs={"text": "x"}, queue="diagnostics.echo")
    wait_for_parked(management, vhost, ECHO_DLQ, 1)
    assert run_producer("dlq", "purge", "diagnostics.echo", "--yes").returncode == 0
    assert queue_depth(app, ECHO_DLQ) == 0


def test_unknown_contract_is_a_clear_error(run_producer):
    result = run_producer("dlq", "list", "diagnostics.ecoh")
    assert result.returncode == 1
    assert "unknown task name 'diagnostics.ecoh'" in result.stderr and "diagnostics.echo" in result.stderr


def test_crash_injector_parses_and_refuses_bad_specs():
    injector = replay_crash.CrashInjector("2:staged")
    injector.reached("staged")  # the first time passes
    assert injector.counts == {"staged": 1}
    with pytest.raises(ValueError, match="phase among got, published"):
        replay_crash.CrashInjector("2:sometime")
