"""Process helpers for the benchmark: the devtools' runner and /proc readings, plus AMQP waits and the broker.

The runner (``Worker``) and the memory and CPU readings come from celery-tasks-devtools;
what is left here is the benchmark's own: its broker address, waiting for consumers over
AMQP, and finding the broker's process.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import time
from pathlib import Path

import amqp
from celery_tasks.topology import queue_counts
from celery_tasks_devtools.processes import ServiceProcess
from celery_tasks_devtools.proctree import (  # noqa: F401 - the benchmarks read them as procs.*
    cpu_seconds,
    own_peak_rss_mib,
    peak_rss_mib,
    tree,
    tree_cpu_seconds,
    tree_peak_rss_mib,
)

# The broker under test: the system node by default, the RabbitMQ 4 node with `make bench BROKER=4`.
AMQP_HOST = os.environ.get("BENCH_AMQP_HOST", "127.0.0.1:5672")
MANAGEMENT_URL = os.environ.get("BENCH_MANAGEMENT_URL", "http://127.0.0.1:15672")


class Worker(ServiceProcess):
    """A worker process started by the devtools' process runner, which also waits for its consumers over AMQP."""

    def wait_for_consumers(self, vhost: str, queue: str, minimum: int = 1, timeout: float = 90.0) -> None:
        """Block until ``queue`` has ``minimum`` consumers (read over AMQP, no statistics delay)."""
        deadline = time.monotonic() + timeout
        connection = amqp.Connection(host=AMQP_HOST, userid="guest", password="guest", virtual_host=vhost)
        connection.connect()
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"worker exited with {self.process.returncode}: {self.log_text()[-3000:]}")
                channel = connection.channel()  # one per probe: a refused passive declare closes its channel
                counts = queue_counts(channel, queue)
                if counts is not None:
                    channel.close()
                if counts is not None and counts.consumers >= minimum:
                    return
                time.sleep(0.2)
        finally:
            with contextlib.suppress(Exception):
                connection.close()
        raise TimeoutError(f"no consumer on {queue} after {timeout} s: {self.log_text()[-3000:]}")


def broker_pid() -> int | None:
    """The broker's Erlang VM (beam.smp run by the rabbitmq user, or named BENCH_BROKER_NODE), if visible."""
    node = os.environ.get("BENCH_BROKER_NODE")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "beam.smp":
                continue
            if node:  # RabbitMQ passes its node name in the environment
                if f"RABBITMQ_NODENAME={node}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    return int(entry.name)
            elif entry.stat().st_uid == pwd.getpwnam("rabbitmq").pw_uid:
                return int(entry.name)
        except (OSError, KeyError):
            continue
    return None
