"""Broker faults (scenarios 3, 4, 12 and the broker's own size limit) on a PRIVATE RabbitMQ node.

The shared broker is never touched: one node of our own is started for this module (own
name, ports, data, cookie), restarted by the drills, and stopped at the end.
"""

import datetime as dt
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from celery_tasks.errors import BrokerUnavailable
from celery_tasks.tasks import diagnostics
from celery_tasks.tasks.alert import SendAlert
from celery_tasks_devtools.mail import MailCatcher
from celery_tasks_devtools.testing import entry_point, queue_depth, settings_env, stop_together

from celery_tasks import create_app

sys.path.insert(0, str(Path(__file__).parent))
import faults

pytestmark = pytest.mark.skipif(
    not faults.rabbitmq_installed(), reason="RabbitMQ is not installed on this machine (run `make broker`)"
)

RECORD = [diagnostics.Record.name]
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    node = faults.PrivateBroker(tmp_path_factory.mktemp("rabbitmq"), extra_config=["max_message_size = 65536"])
    took = node.start()
    print(f"\nprivate RabbitMQ node {node.node} started in {took:.1f} s")
    yield node
    node.stop()
    print(f"private node starts took {[round(t, 1) for t in node.starts]} s")


@pytest.fixture
def workers(broker, tmp_path):
    """Start consumers on the private node (diagnostics by default); all are stopped at the end of the test."""
    started = []

    def start(settings, ledger, *argv, wait=True, entry="consumer-diagnostics", queues=RECORD, env=None):
        service = faults.start_worker(
            settings,
            tmp_path / f"worker-{len(started)}.log",
            argv=[f"--hostname={entry}-{len(started)}@%h", *argv],
            env={"DIAGNOSTICS_LEDGER_PATH": str(ledger), **(env or {})},
            entry=entry,
        )
        started.append(service)
        if wait:
            faults.wait_consuming(service, broker.management(), settings.vhost, queues)
        return service

    yield start
    stop_together(started, grace=10)


def test_3_broker_restart_under_steady_load_loses_no_confirmed_task(broker, workers, tmp_path):
    vhost = broker.create_vhost()
    ledger = tmp_path / "ledger.sqlite"
    settings = broker.settings(vhost, publish_retries=40, confirm_timeout=5.0, connect_timeout=2.0)
    worker_a = workers(settings, ledger, "--concurrency=2")
    worker_b = workers(settings, ledger, "--concurrency=2")
    app = create_app(diagnostics.CONTRACTS, settings)
    app.declare_topology_once(diagnostics.Record.name)

    producer = faults.LoadProducer(app, [f"s3-{n}" for n in range(800)], rate=40)
    producer.start()
    faults.wait_until(lambda: len(producer.confirmed) >= 150, 60, "steady load before the restart")
    took = broker.restart(down_for=2)
    producer.join(timeout=300)
    assert not producer.is_alive()

    verdict, _ = faults.await_effects(ledger, producer.confirmed, timeout=180, indeterminate=producer.failed)
    print(
        f"scenario 3: {verdict}; publishes that raised: {len(producer.failed)}; slowest publish "
        f"{producer.slowest:.1f} s (the producer retried through the restart); node back in {took:.1f} s"
    )
    assert verdict.ok, verdict
    assert not producer.failed, f"with 40 retries every publish got through: {list(producer.failed.items())[:3]}"
    assert producer.slowest > 1.0, "some publishes waited for the broker to come back"
    for service in (worker_a, worker_b):
        assert service.process.poll() is None, "workers reconnect by themselves"
    faults.wait_consuming(worker_a, broker.management(), vhost, RECORD)
    assert "Connection to broker lost" in worker_a.log_text() + worker_b.log_text()


def test_4_broker_down_at_start_producer_fails_clearly_and_a_waiting_consumer_connects_later(broker, workers, tmp_path):
    vhost = broker.create_vhost()
    ledger = tmp_path / "ledger.sqlite"
    settings = broker.settings(vhost, publish_retries=3, connect_timeout=2.0)
    broker.stop()
    try:
        app = create_app(diagnostics.CONTRACTS, settings)
        began = time.monotonic()
        with pytest.raises(BrokerUnavailable) as caught:
            app.tasks[diagnostics.Record.name].delay(key="s4-early")
        took = time.monotonic() - began
        message = f"{type(caught.value).__name__}: {caught.value}"
        print(f"scenario 4: producer with the broker down failed after {took:.1f} s with {message}")
        assert took < 60, "bounded by connect_timeout and publish_retries"
        assert f"amqp://guest:***@127.0.0.1:{broker.amqp_port}/{vhost}" in message, "names the broker, no password"
        assert "Connection refused" in message and "CELERY_TASKS_BROKER_URL" in message

        began = time.monotonic()
        cli = subprocess.run(
            [entry_point("producer"), "submit", diagnostics.Record.name, "--args", '{"key": "s4-cli"}'],
            env={**os.environ, **settings_env(settings)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        took = time.monotonic() - began
        print(f"scenario 4: `producer submit` exited {cli.returncode} after {took:.1f} s: {cli.stderr.strip()}")
        assert cli.returncode == 1 and "is unreachable" in cli.stderr and "guest:guest" not in cli.stderr

        waiting = workers(settings, ledger, "--concurrency=1", wait=False)
        faults.wait_until(lambda: waiting.log_text().count("Cannot connect to") >= 2, 60, "connection retries")
        assert waiting.process.poll() is None, "the consumer keeps retrying instead of exiting"
    finally:
        broker.start()
    faults.wait_consuming(waiting, broker.management(), vhost, RECORD, timeout=120)
    app = create_app(diagnostics.CONTRACTS, settings)
    result = app.tasks[diagnostics.Record.name].delay(key="s4-late")
    assert result.get(timeout=60).first
    log = waiting.log_text()
    print(f"scenario 4: consumer log while down: {[line for line in log.splitlines() if 'Cannot connect' in line][:2]}")
    assert "guest:guest" not in log


def test_9_broker_size_limit_surfaces_as_an_error_never_a_silent_loss(broker):
    """Past our producer's limit, RabbitMQ's max_message_size (64 KiB on this node) must raise, not drop."""
    vhost = broker.create_vhost()
    settings = broker.settings(vhost, max_payload_bytes=1 * MiB, publish_retries=0)
    app = create_app(diagnostics.CONTRACTS, settings)
    echo = app.tasks[diagnostics.Echo.name]
    app.declare_topology_once(echo.name)
    with pytest.raises(Exception) as caught:
        echo.delay(text="x" * 90_000, number=1)
    print(f"scenario 9 (broker limit): {type(caught.value).__name__}: {caught.value}")
    assert "larger than configured max size 65536" in str(caught.value)
    assert queue_depth(app, echo.name) == 0
    echo.delay(text="fits")  # the producer recovers its channel for the next message
    assert queue_depth(app, echo.name) == 1


ALERT_QUEUE = SendAlert.name
ALERT_SUBJECT = re.compile(r"(soak-alert-\d+)")


def send_alerts(app, keywords, pause, sent, failed):
    """Send one alert per keyword, steadily, noting which publishes were confirmed."""
    alert = app.tasks[ALERT_QUEUE]
    day = dt.date(2026, 11, 20)
    history = [{"day": str(day - dt.timedelta(days=n)), "count": n % 5} for n in range(1, 15)]
    for keyword in keywords:
        try:
            alert.apply_async(
                kwargs={"keyword": keyword, "day": str(day), "count": 40, "threshold": 9.5, "history": history},
                ignore_result=True,
            )
        except Exception as exc:
            failed[keyword] = repr(exc)
        else:
            sent.append(keyword)
        time.sleep(pause)


def test_12_soak_ten_thousand_tasks_three_consumer_kills_one_broker_restart(broker, workers, tmp_path):
    """10,000 record tasks and 60 alerts; three consumers SIGKILLed at random moments and the broker restarted."""
    total = int(os.environ.get("SOAK_TASKS", "10000"))
    alerts_total = int(os.environ.get("SOAK_ALERTS", "60"))
    seed = int(os.environ.get("SOAK_SEED", str(random.randrange(1_000_000))))
    rng = random.Random(seed)
    vhost = broker.create_vhost()
    ledger = tmp_path / "ledger.sqlite"
    alerts_db = tmp_path / "alerts.sqlite"
    settings = broker.settings(vhost, publish_retries=60, confirm_timeout=5.0, connect_timeout=2.0, task_events=False)
    smtp = MailCatcher(tmp_path / "mail").start()
    alert_env = {
        "ALERT_SMTP_HOST": "127.0.0.1",
        "ALERT_SMTP_PORT": str(smtp.port),
        "ALERT_DEFAULT_RECIPIENTS": "ops@example.com",
        "ALERT_CHART_DIR": str(tmp_path / "charts"),
        "CELERY_TASKS_DATABASE_URL": f"sqlite:///{alerts_db}",
    }

    def start_alert_worker(wait=True):
        return workers(
            settings, ledger, "--concurrency=1", entry="consumer-alert", queues=[ALERT_QUEUE], env=alert_env, wait=wait
        )

    live = {
        "record-a": workers(settings, ledger, "--concurrency=2"),
        "record-b": workers(settings, ledger, "--concurrency=2"),
        "alert": start_alert_worker(),
    }
    app = create_app([*diagnostics.CONTRACTS, SendAlert], settings)
    app.declare_topology_once(diagnostics.Record.name)
    app.declare_topology_once(ALERT_QUEUE)

    memory: list[tuple[str, int]] = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for name, service in list(live.items()):
                memory.append((name, faults.tree_rss(service.pid)))
            stop.wait(1.0)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    producer = faults.LoadProducer(app, [f"s12-{n:05d}" for n in range(total)], rate=0)
    alerts_sent: list[str] = []
    alerts_failed: dict[str, str] = {}
    alert_keywords = [f"soak-alert-{n}" for n in range(alerts_total)]
    alerter = threading.Thread(
        target=send_alerts, args=(app, alert_keywords, 1.0, alerts_sent, alerts_failed), daemon=True
    )
    began = time.monotonic()
    producer.start()
    alerter.start()

    def done_fraction():
        return len(faults.read_ledger(ledger).effects) / total

    # Three kills at random moments, one of them (at random) of the alert consumer, and one broker restart.
    targets = [rng.choice(["record-a", "record-b"]) for _ in range(3)]
    targets[rng.randrange(3)] = "alert"
    marks = sorted(rng.uniform(0.1, 0.6) for _ in range(3))
    plan = sorted([*zip(marks, targets, strict=True), (rng.uniform(0.3, 0.7), "broker")])
    events = []
    for fraction, target in plan:
        faults.wait_until(lambda f=fraction: done_fraction() >= f, 600, f"{fraction:.0%} of the soak")
        if target == "broker":
            broker.restart(down_for=1)
            events.append(f"broker restarted at {done_fraction():.0%}")
            continue
        faults.kill_group(live[target])
        live[target] = (
            start_alert_worker(wait=False)
            if target == "alert"
            else workers(settings, ledger, "--concurrency=2", wait=False)
        )
        events.append(f"{target} killed at {done_fraction():.0%}")
    producer.join(timeout=600)
    alerter.join(timeout=600)
    verdict, _ = faults.await_effects(ledger, producer.confirmed, timeout=600, indeterminate=producer.failed)
    elapsed = time.monotonic() - began

    management = broker.management()

    def alerts_settled():
        states = faults.alert_states(alerts_db)
        queue = management.queue(vhost, ALERT_QUEUE)
        return set(alerts_sent) <= set(states) and queue.get("messages", 1) == 0 and states

    faults.wait_until(alerts_settled, 300, "every alert to be handled")
    stop.set()
    sampler.join(timeout=120)
    smtp.stop()

    states = faults.alert_states(alerts_db)
    mailed = Counter(m.group(1) for subject in smtp.subjects() if (m := ALERT_SUBJECT.search(subject)))
    twice = sorted(k for k, n in mailed.items() if n > 1)
    unexplained = sorted(k for k in alerts_sent if not mailed[k] and states.get(k) not in {"sending", "uncertain"})
    in_kill_window = sorted(k for k in alerts_sent if not mailed[k] and k not in unexplained)
    unexpected_mail = sorted(set(mailed) - set(alerts_sent) - set(alerts_failed))
    suppressed = sum(log.read_text(errors="replace").count("already claimed") for log in tmp_path.glob("worker-*.log"))
    peaks: dict[str, int] = {}
    for name, rss in memory:
        peaks[name] = max(rss, peaks.get(name, 0))
    print(
        f"scenario 12 (SOAK_SEED={seed}): tasks {verdict}; alerts sent={len(alerts_sent)} mailed once="
        f"{sum(1 for n in mailed.values() if n == 1)} twice={len(twice)} lost={len(unexplained)} "
        f"left claimed by a kill={len(in_kill_window)} redelivered and not resent={suppressed}; "
        f"publishes that raised {len(producer.failed)}; "
        f"{'; '.join(events)}; {elapsed:.0f} s; peak RSS (main + pool) "
        + ", ".join(f"{name} {value / MiB:.0f} MiB" for name, value in sorted(peaks.items()))
    )
    assert verdict.ok, verdict
    assert len(producer.confirmed) + len(producer.failed) == total
    assert not twice, f"alerts mailed twice: {twice}"
    assert not unexplained, f"alerts neither mailed nor visibly claimed: {unexplained}"
    assert not unexpected_mail
    assert len(events) == 4
    assert max(peaks.values()) < 600 * MiB, "worker memory stays bounded"
