"""HTTP load on `producer serve`: POST /tasks/diagnostics.echo with wrk, 1 and 50 concurrent clients.

    .venv/bin/python benchmarks/api_load.py                       # this tree, rpc:// and Redis
    .venv/bin/python benchmarks/api_load.py --src /tmp/before     # another checkout's code (PYTHONPATH)

Needs wrk (``apt-get install wrk``). One vhost for the run, no worker (tasks stay queued; the vhost
is deleted at the end): what is measured is the API's own path, validate, publish, answer.
Prints requests/s and p99 latency per store and client count, and writes JSON if asked.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from celery_tasks_devtools.ports import free_port

from broker_admin import ManagementClient

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
LUA = """wrk.method = "POST"
wrk.body = '{"text": "hello", "number": 1}'
wrk.headers["Content-Type"] = "application/json"
"""
STORES = {"rpc": "rpc://", "redis": "redis://127.0.0.1:6379/14"}


def wrk(url: str, clients: int, seconds: int, script: Path) -> dict[str, float]:
    """Requests/s and p99 (ms) of one wrk run."""
    argv = ["wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_s": rate, "p99_ms": p99, "non_2xx": float(errors.group(1)) if errors else 0.0}


def serve(store: str, vhost: str, src: str | None, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start `producer serve` on a free port; returns it once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "CELERY_TASKS_BROKER_URL": f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
        "CELERY_TASKS_RESULT_BACKEND": store,
    }
    if src:
        env["PYTHONPATH"] = os.pathsep.join(str(Path(src) / p / "src") for p in ("celery_tasks", "producer"))
    argv = [str(BIN / "producer"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/contracts", timeout=2):
                return process, base
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"producer serve did not answer; see {log}")


def main() -> None:
    """Run wrk against each store with 1 and 50 clients."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--src", help="root of another checkout whose code to serve (PYTHONPATH)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, action="append", help="concurrent clients (default 1 and 50)")
    parser.add_argument("--store", choices=sorted(STORES), action="append", help="default: every store")
    parser.add_argument("--output", help="write the figures as JSON here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    management = ManagementClient("http://127.0.0.1:15672", "guest", "guest")
    vhost = f"ct-bench-api-{uuid.uuid4().hex[:8]}"
    management.create_vhost(vhost)
    management.set_permissions(vhost, "guest")
    work = Path(tempfile.mkdtemp(prefix="ct-api-load-"))
    script = work / "post.lua"
    script.write_text(LUA)
    figures: dict[str, Any] = {}
    try:
        for name in args.store or list(STORES):
            process, base = serve(STORES[name], vhost, args.src, work / f"serve-{name}.log")
            try:
                wrk(f"{base}/tasks/diagnostics.echo", 4, 2, script)  # warm-up
                for clients in args.clients or [1, 50]:
                    row = wrk(f"{base}/tasks/diagnostics.echo", clients, args.seconds, script)
                    figures[f"{name}/{clients}"] = row
                    print(
                        f"{name:<6} clients={clients:<3} {row['requests_per_s']:8.1f} req/s  "
                        f"p99 {row['p99_ms']:8.1f} ms  non-2xx {row['non_2xx']:.0f}",
                        flush=True,
                    )
            finally:
                process.terminate()
                process.wait(timeout=30)
    finally:
        management.delete_vhost(vhost)
    if args.output:
        Path(args.output).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
