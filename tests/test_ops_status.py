"""`producer status` and `producer scale-advice` against a real broker with a real diagnostics worker."""

import json
import math
import os
import subprocess
import threading
import time

import pytest
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.tasks.diagnostics import Crash, Echo, Sleep
from celery_tasks_devtools.testing import entry_point, settings_env, wait_for_parked
from producer.scaling import SCALING_TARGETS, desired_replicas

from celery_tasks import create_app

DIAGNOSTIC_QUEUES = ["diagnostics.echo", "diagnostics.sleep", "diagnostics.crash"]
ALERT = "alert.send_alert"
GROWING = "growing-without-consumer"


@pytest.fixture
def app(task_settings):
    return create_app(ALL_CONTRACTS, task_settings)


@pytest.fixture
def run_producer(task_settings):
    env = {**os.environ, **settings_env(task_settings), "COLUMNS": "200"}

    def run(*args):
        command = entry_point("producer")
        result = subprocess.run([command, *args], env=env, capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    return run


def poll(run_producer, args, check, timeout=60.0):
    """Run a --json command until ``check(document)`` holds (the broker refreshes statistics every 5 s)."""
    deadline = time.monotonic() + timeout
    while True:
        document = json.loads(run_producer(*args))
        if check(document) or time.monotonic() > deadline:
            return document
        time.sleep(1)


def rows_by_contract(document):
    return {row["contract"]: row for row in document["contracts"]}


def test_status_shows_depth_consumers_rates_dead_letters_and_flags(start_service, app, management, vhost, run_producer):
    start_service([entry_point("consumer-diagnostics"), "--concurrency=2"], DIAGNOSTIC_QUEUES)
    for result in [app.tasks[Crash.name].delay() for _ in range(2)]:
        with pytest.raises(Exception, match="requested failure"):
            result.get(timeout=60)
    wait_for_parked(management, vhost, "diagnostics.crash.dlq", 2)
    app.declare_topology_once(ALERT)

    stop = threading.Event()

    def publish():  # echo tasks for the worker, and alerts nobody consumes; bounded: at most ~2 minutes
        for n in range(2400):
            if stop.is_set():
                return
            app.tasks[Echo.name].delay(f"m{n}")
            if n % 4 == 0:
                app.send_task(ALERT, kwargs={}, queue=ALERT)
            time.sleep(0.05)

    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    try:

        def busy(document):
            rows = rows_by_contract(document)
            echo, alert = rows[Echo.name], rows[ALERT]
            parked = rows[Crash.name]["dead_letters"] == 2
            # Statistics lag (refreshed every 5 s, later on a loaded machine): wait until they show it all.
            growing = alert["flag"] == GROWING and alert["ready"] > 0
            consumed = echo["consumers"] >= 1 and rows[Crash.name]["consumers"] >= 1
            return parked and consumed and echo["publish_rate"] > 0 and echo["deliver_rate"] > 0 and growing

        document = poll(run_producer, ["status", "--json"], busy, timeout=100.0)
        table = run_producer("status")
    finally:
        stop.set()
        publisher.join(timeout=180)
    rows = rows_by_contract(document)
    assert busy(document), document
    assert rows[Echo.name]["consumers"] == 1 and rows[Echo.name]["flag"] is None
    assert rows[Crash.name]["dead_letters"] == 2 and rows[Crash.name]["consumers"] == 1
    assert rows[ALERT]["consumers"] == 0 and rows[ALERT]["ready"] > 0
    assert rows["crawler.fetch_page"]["declared"] is False
    assert set(rows) == {contract.name for contract in ALL_CONTRACTS}
    assert "GROWING, NO CONSUMER" in table
    assert f"{ALERT} v1" in table and f"{Echo.name} v1" in table

    # Once nothing is published any more, the alert queue is flagged as waiting (not growing).
    waiting = poll(
        run_producer, ["status", "--json"], lambda d: rows_by_contract(d)[ALERT]["flag"] == "waiting-without-consumer"
    )
    assert rows_by_contract(waiting)[ALERT]["flag"] == "waiting-without-consumer"


def test_status_watch_refreshes(app, run_producer):
    app.declare_topology_once(Echo.name)
    lines = run_producer("status", "--watch", "--json", "--interval", "0.3", "--count", "3").splitlines()
    documents = [json.loads(line) for line in lines]
    assert len(documents) == 3
    assert all(rows_by_contract(d)[Echo.name]["declared"] for d in documents)
    live = run_producer("status", "--watch", "--interval", "0.3", "--count", "2")
    assert f"{Echo.name} v1" in live and "Queues in vhost" in live


def test_scale_advice_follows_the_keda_rule(start_service, app, run_producer):
    worker = start_service([entry_point("consumer-diagnostics"), "--concurrency=1"], DIAGNOSTIC_QUEUES)
    # One long task keeps the only worker busy; 20 more wait behind it.
    for _ in range(21):
        app.tasks[Sleep.name].delay(seconds=120)
    app.declare_topology_once("etl.map_keywords")
    for _ in range(7):  # no ETL consumer in this test
        app.send_task("etl.map_keywords", kwargs={}, queue="etl.map_keywords")
    target = "consumer-diagnostics=diagnostics.sleep,diagnostics.echo:10:1:5"

    def settled(document):
        advice = document["consumers"][0]
        return advice["queues"]["diagnostics.sleep"] == 20 and advice["current_replicas"] == 1

    try:
        advice = poll(run_producer, ["scale-advice", "--json", "--target", target], settled)["consumers"][0]
        assert settled({"consumers": [advice]}), advice
        assert advice["desired_replicas"] == 2 and advice["action"] == "scale up"  # ceil(20 / 10)
        assert advice["ready"] == 20 and advice["unacked"] == 1
        with_unacked = json.loads(run_producer("scale-advice", "--json", "--target", target, "--include-unacked"))
        assert with_unacked["consumers"][0]["desired_replicas"] == 3  # ceil(21 / 10)

        built_in = {
            a["consumer"]: a
            for a in poll(
                run_producer,
                ["scale-advice", "--json"],
                lambda d: any(a["queues"].get("etl.map_keywords") == 7 for a in d["consumers"]),
            )["consumers"]
        }
        assert set(built_in) == {t.consumer for t in SCALING_TARGETS}
        etl = next(t for t in SCALING_TARGETS if t.consumer == "consumer-etl")
        assert built_in["consumer-etl"]["desired_replicas"] == desired_replicas(7, etl) == math.ceil(7 / 5)
        assert built_in["consumer-etl"]["current_replicas"] == 0
        assert built_in["consumer-crawler"]["desired_replicas"] == 1  # an empty queue keeps min replicas
        table = run_producer("scale-advice", "--target", target)
        assert "consumer-diagnostics" in table and "scale up" in table
    finally:
        worker.kill_group()  # the 120 s task is not worth waiting for
