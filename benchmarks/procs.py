"""Process helpers for the benchmark: start a worker, wait for its consumers, read its memory and CPU."""

from __future__ import annotations

import contextlib
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import amqp

# The broker under test: the system node by default, the RabbitMQ 4 node with `make bench BROKER=4`.
AMQP_HOST = os.environ.get("BENCH_AMQP_HOST", "127.0.0.1:5672")
MANAGEMENT_URL = os.environ.get("BENCH_MANAGEMENT_URL", "http://127.0.0.1:15672")

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def children_of(pid: int) -> list[int]:
    """Every descendant of a process (scanning /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        for child in parents.get(current, []):
            found.append(child)
            todo.append(child)
    return found


def tree(pid: int) -> list[int]:
    """A process and its descendants."""
    return [pid, *children_of(pid)]


def peak_rss_mib(pid: int) -> float:
    """Peak resident memory (VmHWM) of one process, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def tree_peak_rss_mib(pid: int) -> float:
    """Sum of the peak resident memory of a process tree, in MiB (shared pages counted in each process)."""
    return sum(peak_rss_mib(p) for p in tree(pid))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process tree (live processes only)."""
    return sum(cpu_seconds(p) for p in tree(pid))


class Worker:
    """A worker process started in its own session, logging to a file."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], log_path: Path, cwd: str | None = None) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            list(argv),
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """Main process id."""
        return self.process.pid

    def wait_for_consumers(self, vhost: str, queue: str, minimum: int = 1, timeout: float = 90.0) -> None:
        """Block until ``queue`` has ``minimum`` consumers (read over AMQP, no statistics delay)."""
        deadline = time.monotonic() + timeout
        connection = amqp.Connection(host=AMQP_HOST, userid="guest", password="guest", virtual_host=vhost)
        connection.connect()
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"worker exited with {self.process.returncode}: {self.log_tail()}")
                channel = connection.channel()
                try:
                    _, _, consumers = channel.queue_declare(queue, passive=True)
                    channel.close()
                except amqp.exceptions.NotFound:
                    consumers = 0
                if consumers >= minimum:
                    return
                time.sleep(0.2)
        finally:
            with contextlib.suppress(Exception):
                connection.close()
        raise TimeoutError(f"no consumer on {queue} after {timeout} s: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the worker's log."""
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL the whole session if it does not stop."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()


def own_peak_rss_mib() -> float:
    """Peak resident memory of this process, in MiB."""
    return peak_rss_mib(os.getpid())


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
