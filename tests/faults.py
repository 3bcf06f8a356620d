"""Helpers for the reliability and security suites: a private RabbitMQ node, the side-effect ledger, processes.

Processes are started and stopped by the devtools' process runner (celery_tasks_devtools.processes),
and measured with celery_tasks_devtools.proctree.

The shared broker at 127.0.0.1:5672 is never stopped: every test that restarts or stops a
broker, or needs a TLS listener, starts its own node here (own node name, ports, data and
log directories, Erlang cookie in its own HOME) and stops it afterwards.

Longer than 300 lines on purpose: every drill file imports its helpers from this one module (node, ledger,
scoring, load), so a drill reads as one story; split it when a helper gets a second user outside the drills.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery_tasks.settings import TaskSettings, load_settings
from celery_tasks_devtools.ports import free_ports  # the drills also call it as faults.free_ports
from celery_tasks_devtools.proctree import children, rss_bytes, tree_rss  # noqa: F401 - the drills use faults.*
from celery_tasks_devtools.testing import ServiceProcess, entry_point, settings_env, wait_for_consumers

from broker_admin import ManagementClient

RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
DIAGNOSTIC_QUEUES = ["diagnostics.echo", "diagnostics.sleep", "diagnostics.crash", "diagnostics.record"]


def rabbitmq_installed() -> bool:
    """True when this machine can start a RabbitMQ node of our own."""
    return any(Path(folder, "rabbitmq-server").exists() for folder in (RABBITMQ_BIN, "/usr/sbin", "/usr/local/sbin"))


def rabbitmq_tool(name: str) -> str:
    """Path of a RabbitMQ script, calling the real one rather than Debian's wrapper that switches user."""
    direct = RABBITMQ_BIN / name
    if direct.exists():
        return str(direct)
    for folder in ("/usr/sbin", "/usr/local/sbin", "/usr/bin"):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    raise FileNotFoundError(f"{name} is not installed (run `make broker`)")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on the port."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


class PrivateBroker:
    """A RabbitMQ node of our own, with management, optionally a TLS listener; started and stopped by tests."""

    def __init__(self, base: Path, *, tls: dict[str, str] | None = None, extra_config: Sequence[str] = ()) -> None:
        self.base = base
        self.node = f"ct-{uuid.uuid4().hex[:8]}@localhost"
        self.amqp_port, self.management_port, self.dist_port, self.tls_port = free_ports(4)
        self.tls = tls
        self.starts: list[float] = []
        self.service: ServiceProcess | None = None  # the node, started by the devtools' process runner
        self.process: subprocess.Popen[bytes] | None = None
        for folder in ("home", "mnesia", "log"):
            (base / folder).mkdir(parents=True, exist_ok=True)
        (base / "rabbitmq-env.conf").write_text("")
        (base / "enabled_plugins").write_text("[rabbitmq_management].\n")
        config = [
            f"listeners.tcp.1 = 127.0.0.1:{self.amqp_port}",
            "management.tcp.ip = 127.0.0.1",
            f"management.tcp.port = {self.management_port}",
            "loopback_users.guest = true",
            "log.console = false",
            "log.file.level = info",
            *extra_config,
        ]
        if tls is not None:
            config += [
                f"listeners.ssl.1 = 127.0.0.1:{self.tls_port}",
                f"ssl_options.cacertfile = {tls['ca']}",
                f"ssl_options.certfile = {tls['cert']}",
                f"ssl_options.keyfile = {tls['key']}",
                "ssl_options.verify = verify_none",
                "ssl_options.fail_if_no_peer_cert = false",
            ]
        (base / "rabbitmq.conf").write_text("\n".join(config) + "\n")

    @property
    def env(self) -> dict[str, str]:
        """Environment of the node and of its CLI tools (own HOME, hence own Erlang cookie)."""
        return {
            **os.environ,
            "HOME": str(self.base / "home"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    @property
    def url(self) -> str:
        """AMQP URL of the node's default vhost as guest (allowed: we connect from loopback)."""
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}//"

    @property
    def management_url(self) -> str:
        """URL of the node's management API."""
        return f"http://127.0.0.1:{self.management_port}"

    def management(self) -> ManagementClient:
        """A management client for this node."""
        return ManagementClient(self.management_url, "guest", "guest", retries=0)

    def settings(self, vhost: str = "/", **overrides: Any) -> TaskSettings:
        """Task settings pointing at this node (and vhost)."""
        base = load_settings(broker_url=self.url, management_url=self.management_url, **overrides)
        return base.with_vhost(vhost)

    def tool(self, name: str) -> list[str]:
        """Command line that runs one of RabbitMQ's scripts for this node (a subclass may run it elsewhere)."""
        return [rabbitmq_tool(name)]

    def ctl(self, *args: str, timeout: float = 120) -> str:
        """Run rabbitmqctl against this node; returns its output, raising with it on failure."""
        completed = subprocess.run(
            [*self.tool("rabbitmqctl"), "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {completed.stdout}{completed.stderr}")
        return completed.stdout

    def start(self, timeout: float = 120) -> float:
        """Start the node and wait until AMQP and management answer; returns the seconds it took."""
        began = time.monotonic()
        self.service = ServiceProcess(self.tool("rabbitmq-server"), self.env, self.base / "server.out")
        self.process = self.service.process
        deadline = began + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"RabbitMQ node {self.node} exited: {self.server_output()[-3000:]}")
            if port_open(self.amqp_port) and self._management_up():
                self.ctl("await_startup")
                took = time.monotonic() - began
                self.starts.append(took)
                return took
            time.sleep(0.25)
        raise TimeoutError(f"RabbitMQ node {self.node} did not start in {timeout} s: {self.server_output()[-3000:]}")

    def _management_up(self) -> bool:
        with contextlib.suppress(Exception):
            self.management().overview()
            return True
        return False

    def server_output(self) -> str:
        """What the node printed to its console."""
        path = self.base / "server.out"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the whole node (connections drop, the port closes) and wait for its process to end."""
        if self.process is None or self.process.poll() is not None:
            return
        assert self.service is not None
        try:
            self.ctl("stop", timeout=60)
        except (RuntimeError, subprocess.TimeoutExpired):
            self.service.kill_group(wait=None)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.service.kill_group()
        self.service.kill_group(wait=None)  # epmd-less leftovers (erl_child_setup)
        self.service.close()

    def restart(self, down_for: float = 0.0) -> float:
        """Stop the node, stay down a while, start it again; returns the seconds the start took."""
        self.stop()
        time.sleep(down_for)
        return self.start()

    def create_vhost(self, name: str | None = None) -> str:
        """A new vhost on this node with guest allowed in it."""
        vhost = name or f"ct-{uuid.uuid4().hex[:8]}"
        client = self.management()
        client.create_vhost(vhost)
        client.set_permissions(vhost, "guest")
        return vhost


def start_worker(
    settings: TaskSettings,
    log_path: Path,
    *,
    argv: Sequence[str] = (),
    env: dict[str, str] | None = None,
    entry: str = "consumer-diagnostics",
) -> ServiceProcess:
    """Start a consumer entry point with these settings, without waiting for it to consume."""
    environment = {**settings_env(settings), **(env or {})}
    return ServiceProcess([entry_point(entry), *argv], environment, log_path)


def wait_consuming(
    service: ServiceProcess, management: ManagementClient, vhost: str, queues: Sequence[str], timeout: float = 90
) -> None:
    """Wait until the worker consumes from every queue, failing with its log."""
    try:
        wait_for_consumers(management, vhost, queues, timeout, service.process)
    except (RuntimeError, TimeoutError) as exc:
        raise AssertionError(f"{exc}\n--- worker log ---\n{service.log_text()[-4000:]}") from None


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.2) -> Any:
    """Poll until the predicate returns something truthy, which is returned; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@dataclass
class LedgerView:
    """What a drill's ledger says: runs per key (with pids and redelivery flags) and stored effects."""

    runs: Counter[str] = field(default_factory=Counter)
    cleanups: Counter[str] = field(default_factory=Counter)
    redelivered: Counter[str] = field(default_factory=Counter)
    effects: Counter[str] = field(default_factory=Counter)
    run_pids: dict[str, list[int]] = field(default_factory=dict)


def read_ledger(path: Path) -> LedgerView:
    """Read the diagnostics ledger (empty when the workers have not created it yet)."""
    view = LedgerView()
    if not path.exists():
        return view
    with contextlib.closing(sqlite3.connect(path, timeout=60)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"runs", "effects"} <= tables:
            return view
        for key, phase, redelivered, pid in connection.execute("SELECT key, phase, redelivered, pid FROM runs"):
            if phase == "start":
                view.runs[key] += 1
                view.run_pids.setdefault(key, []).append(pid)
                view.redelivered[key] += redelivered
            elif phase == "cleanup":
                view.cleanups[key] += 1
        for (key,) in connection.execute("SELECT key FROM effects"):
            view.effects[key] += 1
    return view


@dataclass
class Score:
    """A Jepsen-style verdict on a drill: lost, duplicated and unexpected side effects."""

    sent: int
    completed: int
    lost: list[str]
    duplicated: list[str]
    unexpected: list[str]
    reruns: int

    @property
    def ok(self) -> bool:
        """Nothing lost, nothing duplicated, nothing that was not sent."""
        return not (self.lost or self.duplicated or self.unexpected)

    def __str__(self) -> str:
        return (
            f"sent={self.sent} completed={self.completed} lost={len(self.lost)} duplicated={len(self.duplicated)} "
            f"unexpected={len(self.unexpected)} re-runs={self.reruns}"
            + (f" first lost: {self.lost[:5]}" if self.lost else "")
            + (f" first duplicated: {self.duplicated[:5]}" if self.duplicated else "")
        )


def score(sent: Iterable[str], view: LedgerView, indeterminate: Iterable[str] = ()) -> Score:
    """Compare the keys that were sent (confirmed) with the side effects in the ledger.

    ``indeterminate`` keys are publishes that raised: the broker may or may not have taken
    them (Jepsen's "info" operations), so their effect is neither lost nor unexpected.
    """
    expected = set(sent)
    allowed = expected | set(indeterminate)
    return Score(
        sent=len(expected),
        completed=len(expected & set(view.effects)),
        lost=sorted(expected - set(view.effects)),
        duplicated=sorted(key for key, count in view.effects.items() if count > 1),
        unexpected=sorted(set(view.effects) - allowed),
        reruns=sum(max(0, count - 1) for count in view.runs.values()),
    )


def kill_group(service: ServiceProcess) -> None:
    """SIGKILL a worker and its pool children at once, like `docker kill` does to a container."""
    service.kill_group()


def random_kill_times(count: int, start: float, end: float, seed: int | None = None) -> list[float]:
    """``count`` sorted moments between ``start`` and ``end`` (seeded, so a failing run can be replayed)."""
    rng = random.Random(seed)
    return sorted(rng.uniform(start, end) for _ in range(count))


def signal_process(pid: int, signum: int) -> None:
    """Send a signal to one process (no error when it is already gone)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def await_effects(
    ledger: Path, keys: Iterable[str], timeout: float, indeterminate: Iterable[str] = ()
) -> tuple[Score, LedgerView]:
    """Wait until every key has its side effect (or the time is up) and score the ledger."""
    expected = list(keys)
    unsure = list(indeterminate)
    deadline = time.monotonic() + timeout
    while True:
        view = read_ledger(ledger)
        verdict = score(expected, view, unsure)
        if not verdict.lost or time.monotonic() >= deadline:
            return verdict, view
        time.sleep(0.25)


class LoadProducer(threading.Thread):
    """Publishes diagnostics.record tasks at a steady rate in the background, noting which were confirmed.

    A publish that returns was confirmed by the broker (publisher confirms are on); one that
    raises is indeterminate: it may or may not have reached the queue.
    """

    def __init__(self, app: Any, keys: Sequence[str], rate: float, seconds: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.app = app
        self.keys = list(keys)
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.seconds = seconds
        self.confirmed: list[str] = []
        self.failed: dict[str, str] = {}
        self.slowest = 0.0
        self.halted = threading.Event()

    def halt(self, timeout: float = 60.0) -> None:
        """Stop publishing (a test that failed must not leave a stream running into the next one)."""
        self.halted.set()
        if self.is_alive():
            self.join(timeout=timeout)

    def run(self) -> None:
        """Publish every key once, unless halted."""
        record = self.app.tasks["diagnostics.record"]
        began = time.monotonic()
        for n, key in enumerate(self.keys):
            if self.halted.is_set():
                return
            started = time.monotonic()
            try:
                record.apply_async(kwargs={"key": key, "seconds": self.seconds}, ignore_result=True)
            except Exception as exc:
                self.failed[key] = f"{type(exc).__name__}: {exc}"
            else:
                self.confirmed.append(key)
            self.slowest = max(self.slowest, time.monotonic() - started)
            pause = began + (n + 1) * self.interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)


def alert_states(database: Path) -> dict[str, str]:
    """keyword -> claim state of the consumer-alert's SentAlert rows (empty before the table exists)."""
    if not database.exists():
        return {}
    with contextlib.closing(sqlite3.connect(database, timeout=60)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "sent_alerts" not in tables:
            return {}
        return dict(connection.execute("SELECT keyword, state FROM sent_alerts"))
