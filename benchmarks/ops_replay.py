"""Replay throughput: park N echo messages, then time `producer dlq replay diagnostics.echo --all`.

Usage: .venv/bin/python benchmarks/ops_replay.py [N]   (loopback RabbitMQ; a private vhost, deleted afterwards)
Each move is a publisher-confirmed publish, three fsync'd journal lines, two synchronous round trips
and a broker-side dead-lettering, so this measures the price of "every message in exactly one place".
"""

import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.settings import load_settings
from celery_tasks_devtools.testing import entry_point, queue_depth, settings_env

from broker_admin import ManagementClient
from celery_tasks import create_app


def main() -> None:
    """Park, replay, report."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    base = load_settings()
    management = ManagementClient.from_settings(base)
    vhost = f"ct-bench-{uuid.uuid4().hex[:8]}"
    management.create_vhost(vhost)
    management.set_permissions(vhost, base.broker_credentials()[0])
    try:
        settings = base.with_vhost(vhost)
        app = create_app(ALL_CONTRACTS, settings)
        app.declare_topology_once("diagnostics.echo")
        for n in range(count):  # parked copies, as a worker would have left them
            app.send_task(
                "diagnostics.echo",
                kwargs={"text": f"m{n}", "number": n},
                exchange="diagnostics.echo.dlx",
                routing_key="diagnostics.echo.dlq",
                headers={"x-reason": "bench", "x-error-type": "Bench"},
            )
        with tempfile.TemporaryDirectory() as journal:
            env = {**os.environ, **settings_env(settings), "PRODUCER_REPLAY_JOURNAL_DIR": journal}
            started = time.perf_counter()
            subprocess.run(
                [entry_point("producer"), "dlq", "replay", "diagnostics.echo", "--all", "--json"],
                env=env,
                check=True,
                capture_output=True,
            )
            elapsed = time.perf_counter() - started
            journal_size = sum(p.stat().st_size for p in Path(journal).rglob("*.jsonl"))
        moved = queue_depth(app, "diagnostics.echo")
        print(
            f"replayed {moved}/{count} messages in {elapsed:.2f} s = {moved / elapsed:.0f} msg/s "
            f"(including ~1.5 s CLI start-up); journal {journal_size} bytes after compaction"
        )
    finally:
        management.delete_vhost(vhost)


if __name__ == "__main__":
    main()
