"""Cluster drills: a 3-node RabbitMQ 4 cluster loses a node under load, and nothing confirmed is lost.

Three private RabbitMQ 4 nodes (tests/cluster.py; the system broker and the lead's rabbit4 node are
never touched) form one cluster with RabbitMQ 4.3's deprecated-feature defaults. Producer and
consumers get the three addresses as kombu's failover list in CELERY_TASKS_BROKER_URL, and the
contract queue is a quorum queue with three members. Drill 1 kills -9 the node that leads the
queue; drill 2 stops the node a consumer is connected to (not the leader). Both are scored with the
diagnostics ledger of the fault suites: every confirmed task has its side effect exactly once.
"""

import contextlib
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.broker import consumer_counts
from celery_tasks_devtools.testing import stop_together

from celery_tasks import create_app

sys.path.insert(0, str(Path(__file__).parent))
import cluster
import faults

RECORD = diagnostics.Record.name
TASKS = 1600  # 40 s of load at 40/s: the stream outlasts a consumer's fail-over
RATE = 40


@pytest.fixture(scope="module")
def nodes():
    cluster.ensure_root()
    three = cluster.Cluster()
    try:
        took = three.start()
        print(f"\ncluster {[node.node for node in three.nodes]} formed (node starts {took:.1f} s in all)")
        yield three
    finally:
        three.stop()
    assert not three.base.exists(), "the run's data and logs are removed"


@pytest.fixture(autouse=True)
def whole_cluster(nodes):
    """Every test starts with all three nodes running, and a failed test does not leave one down."""
    nodes.restore()
    yield
    restarted = nodes.restore()
    if restarted:
        print(f"restarted {restarted}, left down by the test")


@pytest.fixture
def loads():
    """Start steady confirmed streams; each is halted and its app closed at the end of the test."""
    started = []

    def start(nodes, vhost, order, prefix):
        app, producer = start_load(nodes, vhost, order, prefix)
        started.append((app, producer))
        return app, producer

    yield start
    for app, producer in started:
        producer.halt()
        app.close()


@pytest.fixture
def workers(tmp_path):
    """Start diagnostics consumers by their entry point; all are stopped at the end of the test."""
    started = []

    def start(settings, ledger):
        service = faults.start_worker(
            settings,
            tmp_path / f"worker-{len(started)}.log",
            argv=[f"--hostname=diagnostics-{len(started)}@%h", "--concurrency=2"],
            env={"DIAGNOSTICS_LEDGER_PATH": str(ledger)},
        )
        started.append(service)
        return service

    yield start
    stop_together(started, grace=10)


def drill_settings(nodes, vhost, order):
    """Settings with the failover list in this order, retrying publishes through a fail-over."""
    return nodes.settings(vhost, order, publish_retries=40, confirm_timeout=5.0, connect_timeout=2.0, task_events=False)


def live_consumers(nodes, vhost):
    """Consumers of the contract queue now, over AMQP through the failover list.

    The management API's queue object has no ``consumers`` field until its statistics come in,
    and a node that has just rejoined reports none for a while: CI once failed here on that.
    """
    settings = drill_settings(nodes, vhost, (0, 1, 2))
    return consumer_counts(nodes.management(), vhost, [RECORD], settings).get(RECORD, 0)


def first_effect_after(ledger, moment, pids):
    """Seconds from ``moment`` (wall clock) to the first side effect made by one of ``pids`` after it."""
    with contextlib.closing(sqlite3.connect(ledger, timeout=60)) as connection:
        marks = ",".join("?" * len(pids)) or "NULL"
        (first,) = connection.execute(
            f"SELECT MIN(at) FROM effects WHERE at > ? AND pid IN ({marks})",
            (moment, *pids),
        ).fetchone()
    return None if first is None else first - moment


def wait_resumed(ledger, moment, service, timeout=60):
    """Wait for the worker's first side effect after ``moment``; fail with the end of its log."""
    try:
        faults.wait_until(lambda: first_effect_after(ledger, moment, pool_pids(service)), timeout, "consumer resumed")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- worker log ---\n{service.log_tail(80)}") from None


def pool_pids(service):
    """The worker's main process and its prefork children (the ledger records the child's pid)."""
    return [service.pid, *faults.children(service.pid)]


def longest_pause(ledger, since, pids):
    """The longest time the worker made no side effect, from ``since`` (wall clock) to its last effect."""
    with contextlib.closing(sqlite3.connect(ledger, timeout=60)) as connection:
        marks = ",".join("?" * len(pids)) or "NULL"
        moments = [
            at
            for (at,) in connection.execute(
                f"SELECT at FROM effects WHERE at > ? AND pid IN ({marks}) ORDER BY at",
                (since, *pids),
            )
        ]
    return max((b - a for a, b in zip([since, *moments], moments, strict=False)), default=None)


def wait_member_online(nodes, vhost, node, timeout=120):
    """Wait until the node is running in the cluster again and back online as a member of the queue."""

    def back():
        with contextlib.suppress(Exception):
            info = nodes.queue_info(vhost, RECORD)
            return node.node in nodes.running_nodes() and node.node in info.get("online", [])
        return False

    faults.wait_until(back, timeout, f"{node.node} to rejoin and serve {RECORD} again", interval=0.5)


def start_load(nodes, vhost, order, prefix):
    """Declare the contract with the producer's failover settings and start a steady confirmed stream."""
    app = create_app(diagnostics.CONTRACTS, drill_settings(nodes, vhost, order))
    app.declare_topology_once(RECORD)
    info = nodes.queue_info(vhost, RECORD)
    assert info["type"] == "quorum" and len(info["members"]) == 3, info.get("members")
    assert len(nodes.queue_info(vhost, f"{RECORD}.dlq")["members"]) == 3
    return app, faults.LoadProducer(app, [f"{prefix}-{n:04d}" for n in range(TASKS)], rate=RATE)


def finish(nodes, vhost, producer, ledger, resumed, label, down_node, down_for):
    """Wait for the stream, bring the node back, score the ledger and print the figures."""
    producer.join(timeout=300)
    assert not producer.is_alive()
    took = down_node.start()
    wait_member_online(nodes, vhost, down_node)
    verdict, _ = faults.await_effects(ledger, producer.confirmed, timeout=180, indeterminate=producer.failed)
    print(
        f"{label}: {verdict}; publishes that raised {len(producer.failed)}; longest publish stall "
        f"{producer.slowest:.1f} s; longest pause of each consumer "
        + ", ".join(f"{name} {'-' if s is None else f'{s:.1f} s'}" for name, s in resumed.items())
        + f"; {down_node.name} down {down_for:.0f} s, restarted in {took:.1f} s and rejoined"
    )
    assert verdict.ok, verdict
    assert not producer.failed, f"every publish failed over: {list(producer.failed.items())[:3]}"
    return verdict


def test_cluster_kill_9_of_the_queue_leader_loses_no_confirmed_task(nodes, loads, workers, tmp_path):
    vhost = nodes.create_vhost()
    ledger = tmp_path / "ledger.sqlite"
    _, producer = loads(nodes, vhost, (0, 1, 2), "c1")
    leader = nodes.leader(vhost, RECORD)
    # One consumer starts on the leader's node, the other on another node.
    others = [n for n in range(3) if nodes.nodes[n] is not leader]
    on_leader = workers(drill_settings(nodes, vhost, (nodes.nodes.index(leader), *others)), ledger)
    elsewhere = workers(drill_settings(nodes, vhost, (*others, nodes.nodes.index(leader))), ledger)
    for service in (on_leader, elsewhere):
        faults.wait_consuming(service, nodes.management(), vhost, [RECORD])
    # The management API's connection list may lag a moment behind the connections themselves.
    faults.wait_until(lambda: nodes.connections_on(leader, vhost) >= 2, 30, "producer and a consumer on the leader")

    producer.start()
    faults.wait_until(lambda: len(producer.confirmed) >= 150, 60, "steady load before the kill")
    killed_at = time.time()
    leader.kill()
    down = time.monotonic()
    faults.wait_until(lambda: len(producer.confirmed) >= 300, 120, "publishing again after the kill")
    wait_resumed(ledger, killed_at, on_leader)
    new_leader = nodes.leader(vhost, RECORD)
    assert new_leader is not leader, "a surviving member leads the queue"
    producer.join(timeout=300)
    resumed = {
        "on the killed node": longest_pause(ledger, killed_at, pool_pids(on_leader)),
        "on another node": longest_pause(ledger, killed_at, pool_pids(elsewhere)),
    }
    down_for = time.monotonic() - down
    finish(nodes, vhost, producer, ledger, resumed, "cluster drill 1 (kill -9 the leader)", leader, down_for)
    for service in (on_leader, elsewhere):
        assert service.process.poll() is None, "workers moved to a surviving node by themselves"
    faults.wait_until(lambda: live_consumers(nodes, vhost) == 2, 30, "both workers consuming")


def test_cluster_stop_of_a_consumers_node_that_does_not_lead_loses_no_confirmed_task(nodes, loads, workers, tmp_path):
    vhost = nodes.create_vhost()
    ledger = tmp_path / "ledger.sqlite"
    _, producer = loads(nodes, vhost, (0, 1, 2), "c2")
    leader = nodes.leader(vhost, RECORD)
    target = next(node for node in nodes.nodes[1:] if node is not leader)
    rest = [n for n in range(3) if nodes.nodes[n] is not target]
    moving = workers(drill_settings(nodes, vhost, (nodes.nodes.index(target), *rest)), ledger)
    staying = workers(drill_settings(nodes, vhost, (nodes.nodes.index(leader), *rest)), ledger)
    for service in (moving, staying):
        faults.wait_consuming(service, nodes.management(), vhost, [RECORD])
    faults.wait_until(lambda: nodes.connections_on(target, vhost) >= 1, 30, f"a consumer on {target.node}")

    producer.start()
    faults.wait_until(lambda: len(producer.confirmed) >= 150, 60, "steady load before the stop")
    stopped_at = time.time()
    down = time.monotonic()
    target.stop()
    wait_resumed(ledger, stopped_at, moving)
    assert nodes.leader(vhost, RECORD) is leader, "the leader was not touched"
    producer.join(timeout=300)
    resumed = {
        "moved off the stopped node": longest_pause(ledger, stopped_at, pool_pids(moving)),
        "on the leader's node": longest_pause(ledger, stopped_at, pool_pids(staying)),
    }
    down_for = time.monotonic() - down
    finish(nodes, vhost, producer, ledger, resumed, "cluster drill 2 (stop a consumer's node)", target, down_for)
    assert moving.process.poll() is None and staying.process.poll() is None
    faults.wait_until(lambda: live_consumers(nodes, vhost) == 2, 30, "both workers consuming")
