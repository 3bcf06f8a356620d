"""A three-node RabbitMQ 4 cluster on loopback for the cluster drills, built on faults.PrivateBroker.

The nodes run in the Debian 13 root that scripts/ensure_rabbitmq4.sh caches (rabbitmq-server 4.0
with Erlang 27), each with its own node name, AMQP, management and distribution ports, data and
log directories under the root (unique per run), and one Erlang cookie shared by the three. The
lead's rabbit4 node and the system broker are never touched. Everything is stopped and removed
by ``Cluster.stop`` (the fixture calls it in a ``finally``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import faults
from celery_tasks.settings import TaskSettings, load_settings

from broker_admin import ManagementClient

REPO = Path(__file__).resolve().parents[1]
ENSURE = REPO / "scripts" / "ensure_rabbitmq4.sh"
ROOT = Path(os.environ.get("RABBITMQ4_ROOT", "/var/cache/celery-tasks/rabbitmq4-trixie"))
RUNS = ROOT / "srv" / "celery-tasks" / "cluster-tests"
INNER_BIN = "/usr/lib/rabbitmq/bin"
# RabbitMQ 4.3's defaults (as scripts/ensure_rabbitmq4.sh configures the single node).
DEFAULTS_4_3 = (
    "deprecated_features.permit.transient_nonexcl_queues = false",
    "deprecated_features.permit.global_qos = false",
)


def ensure_root() -> None:
    """Build (once) and mount the Debian 13 root, failing with the script's own message."""
    done = subprocess.run([str(ENSURE), "--root"], capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{ENSURE} --root failed: {done.stdout}{done.stderr}")


def rabbitmq_ids() -> tuple[int, int]:
    """uid and gid of the root's rabbitmq user (the nodes run as it)."""
    for line in (ROOT / "etc" / "passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == "rabbitmq":
            return int(fields[2]), int(fields[3])
    raise RuntimeError(f"no rabbitmq user in {ROOT}/etc/passwd: rebuild the root with {ENSURE} --root")


class ClusterNode(faults.PrivateBroker):
    """One RabbitMQ 4 node in the cached root: PrivateBroker's life cycle, run through chroot."""

    def __init__(
        self, base: Path, name: str | None = None, cookie: str | None = None, extra_config: Sequence[str] = ()
    ) -> None:
        super().__init__(base, extra_config=extra_config)
        self.name = name or f"ct{uuid.uuid4().hex[:6]}"
        self.node = f"{self.name}@localhost"
        home = base / "home"
        (home / ".erlang.cookie").write_text(cookie or secrets.token_hex(20).upper())
        self.own()
        (home / ".erlang.cookie").chmod(0o400)

    def own(self) -> None:
        """Hand the node's directory to the root's rabbitmq user (files written by the test run as root)."""
        uid, gid = rabbitmq_ids()
        for path in [self.base, *self.base.rglob("*")]:
            os.chown(path, uid, gid)

    def inner_path(self, path: Path) -> str:
        """A path under the root as the node sees it."""
        return "/" + str(path.relative_to(ROOT))

    @property
    def inner(self) -> str:
        """The node's directory as seen inside the root."""
        return "/" + str(self.base.relative_to(ROOT))

    @property
    def env(self) -> dict[str, str]:
        """A clean environment for chroot: inner paths, own HOME (hence the cluster's cookie)."""
        inner = self.inner
        return {
            "PATH": f"{INNER_BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "HOME": f"{inner}/home",
            "RABBITMQ_CONF_ENV_FILE": f"{inner}/rabbitmq-env.conf",
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": f"{inner}/mnesia",
            "RABBITMQ_LOG_BASE": f"{inner}/log",
            "RABBITMQ_CONFIG_FILE": f"{inner}/rabbitmq",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{inner}/enabled_plugins",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def tool(self, name: str) -> list[str]:
        """RabbitMQ's script of that name inside the root, as the rabbitmq user."""
        return ["chroot", "--userspec=rabbitmq:rabbitmq", str(ROOT), f"{INNER_BIN}/{name}"]

    def kill(self) -> None:
        """kill -9 the node's whole process group (no goodbye to its peers or clients)."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def running(self) -> bool:
        """True while the node's process lives."""
        return self.process is not None and self.process.poll() is None

    def vhost_url(self, vhost: str = "/") -> str:
        """AMQP URL of one vhost on this node, as guest."""
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/{vhost.replace('/', '%2F')}"


class Cluster:
    """Three RabbitMQ 4 nodes joined into one cluster, started and removed by the test fixture."""

    def __init__(self, size: int = 3, *, defaults_4_3: bool = True) -> None:
        self.run = f"ct{uuid.uuid4().hex[:6]}"
        self.base = RUNS / self.run
        cookie = secrets.token_hex(20).upper()
        config = [*(DEFAULTS_4_3 if defaults_4_3 else ()), "disk_free_limit.absolute = 50MB"]
        self.nodes = [ClusterNode(self.base / f"c{n}", f"{self.run}-c{n}", cookie, config) for n in range(1, size + 1)]

    def start(self, timeout: float = 180) -> float:
        """Start every node (together), then join the others to the first; returns the seconds it took."""
        errors: list[BaseException] = []

        def boot(node: ClusterNode) -> None:
            try:
                node.start(timeout)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=boot, args=(node,)) for node in self.nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise RuntimeError(f"the cluster did not start: {errors[0]}")
        first = self.nodes[0]
        # Khepri, the metadata store of RabbitMQ 4.2+, also avoids 4.0.5's Mnesia race where a node
        # joining with transient_nonexcl_queues denied fails start_app (failed_to_deny_deprecated_features).
        for node in self.nodes:
            node.ctl("enable_feature_flag", "--opt-in", "khepri_db")
        for node in self.nodes[1:]:
            node.ctl("stop_app")
            node.ctl("join_cluster", first.node)
            node.ctl("start_app")
        running = self.running_nodes()
        if running != {node.node for node in self.nodes}:
            raise RuntimeError(f"cluster formed with {sorted(running)} instead of all {len(self.nodes)} nodes")
        first.ctl("enable_feature_flag", "all")
        return sum(max(node.starts) for node in self.nodes)

    def stop(self) -> None:
        """Stop every node (killing what will not stop) and remove the run's directories."""
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()
            node.kill()
        shutil.rmtree(self.base, ignore_errors=True)

    def restore(self, timeout: float = 120) -> list[str]:
        """Start every node a test left down and wait until the cluster runs all of them; returns their names."""
        down = [node for node in self.nodes if not node.running()]
        for node in down:
            node.start(timeout)
        expected = {node.node for node in self.nodes}

        def all_running() -> bool:
            with contextlib.suppress(Exception):  # a node that has just started may not answer yet
                return self.running_nodes() == expected
            return False

        faults.wait_until(all_running, timeout, f"the cluster to run all of {sorted(expected)}", interval=0.5)
        return [node.node for node in down]

    def up(self) -> ClusterNode:
        """A node whose process runs (for management calls)."""
        for node in self.nodes:
            if node.running():
                return node
        raise RuntimeError("no node of the cluster is running")

    def management(self) -> ManagementClient:
        """Management API of a running node (it answers for the whole cluster)."""
        return self.up().management()

    def running_nodes(self) -> set[str]:
        """Names of the nodes the cluster reports running."""
        nodes = self.management().request("GET", "nodes")
        return {node["name"] for node in nodes if node.get("running")}

    def broker_url(self, vhost: str, order: Sequence[int] = (0, 1, 2)) -> str:
        """kombu's failover list of every node's URL, in this order."""
        return ";".join(self.nodes[n].vhost_url(vhost) for n in order)

    def settings(self, vhost: str, order: Sequence[int] = (0, 1, 2), **overrides: Any) -> TaskSettings:
        """Task settings with the failover list (management of the first node in the order)."""
        first = self.nodes[order[0]]
        return load_settings(broker_url=self.broker_url(vhost, order), management_url=first.management_url, **overrides)

    def create_vhost(self) -> str:
        """A new vhost with guest allowed in it."""
        return self.up().create_vhost()

    def queue_info(self, vhost: str, queue: str) -> dict[str, Any]:
        """The management API's view of a queue (leader, members, consumers)."""
        return self.management().queue(vhost, queue)

    def leader(self, vhost: str, queue: str) -> ClusterNode:
        """The node that leads a quorum queue now."""
        info = self.queue_info(vhost, queue)
        name = info.get("leader") or info.get("node")
        return self.node_named(str(name))

    def node_named(self, name: str) -> ClusterNode:
        """The node with that Erlang node name."""
        for node in self.nodes:
            if node.node == name:
                return node
        raise KeyError(name)

    def connections_on(self, node: ClusterNode, vhost: str) -> int:
        """How many client connections to the vhost the node holds."""
        connections = self.management().request("GET", f"vhosts/{vhost}/connections")
        return sum(1 for connection in connections if connection.get("node") == node.node)
