"""Container health checks for the services, run by Docker HEALTHCHECK and Kubernetes probes.

    python healthcheck.py worker --service crawler   # this container's worker is consuming
    python healthcheck.py broker                     # the broker accepts our credentials (beat)
    python healthcheck.py api http://127.0.0.1:8000/healthz   # the producer API answers, broker reachable
    python healthcheck.py http http://127.0.0.1:5555/healthcheck   # any 2xx

A worker is healthy when its remote-control queue ``<service>@<hostname>.celery.pidbox`` is alive:
the worker's main process declares it, exclusive to its broker connection, and consumes it, so the
queue is gone when the process hangs past the heartbeat, loses the broker or exits. The check is a
passive queue declare, which RabbitMQ allows without any permission (an exclusive queue answers
"locked", which proves its owner's connection is open): the worker's least-privilege user can run
it, and it sends nothing to any worker. Exit status 0 = healthy, 1 = unhealthy.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import urllib.error
import urllib.request
from typing import Any

from amqp.exceptions import ResourceLocked
from celery_tasks.runtime.config import broker_tls_options
from celery_tasks.settings import load_settings
from celery_tasks.topology import queue_counts
from kombu import Connection

TIMEOUT = 5.0


def _connection() -> Any:
    """A kombu connection built from CELERY_TASKS_* settings, TLS included."""
    settings = load_settings()
    return Connection(
        settings.broker_url, connect_timeout=TIMEOUT, ssl=broker_tls_options(settings) or False, heartbeat=0
    )


def check_worker(service: str, hostname: str | None = None) -> str | None:
    """None when ``service@hostname`` consumes its pidbox queue, else the reason it is unhealthy."""
    queue = f"{service}@{hostname or socket.gethostname()}.celery.pidbox"
    with _connection() as connection:
        connection.ensure_connection(max_retries=1, timeout=TIMEOUT)
        try:
            counts = queue_counts(connection.channel(), queue)  # a channel of its own: one probe, then closed
        except ResourceLocked:
            return None  # an exclusive queue: it exists only while the worker's connection is open
    if counts is None:
        return f"{queue} does not exist: the worker is not connected"
    return None if counts.consumers else f"{queue} has no consumer"


def check_broker() -> str | None:
    """None when the broker accepts a connection with our credentials."""
    with _connection() as connection:
        connection.ensure_connection(max_retries=1, timeout=TIMEOUT)
        connection.channel().close()
    return None


def _get(url: str) -> tuple[int, bytes]:
    """Status and body of a GET, error statuses included."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - scheme checked above
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def check_http(url: str) -> str | None:
    """None when the URL answers with a 2xx status."""
    status, _ = _get(url)
    return None if 200 <= status < 300 else f"{url} answered {status}"


def check_api(url: str) -> str | None:
    """None when the producer's /healthz answers and reports the broker reachable.

    /healthz answers 503 while a pipeline queue has no consumer; that is the consumers' health,
    not the API's, so this check only requires the API to answer and to reach the broker.
    """
    status, body = _get(url)
    try:
        report = json.loads(body)
    except ValueError:
        return f"{url} answered {status} without JSON"
    if not report.get("broker", {}).get("reachable"):
        return f"{url}: broker unreachable: {report.get('broker', {}).get('error')}"
    return None


def main(argv: list[str] | None = None) -> int:
    """Run one check and report it; 0 when healthy."""
    parser = argparse.ArgumentParser(description="Container health checks.")
    modes = parser.add_subparsers(dest="mode", required=True)
    worker = modes.add_parser("worker", help="this container's worker consumes its pidbox queue")
    worker.add_argument("--service", required=True, help="the worker's service name: crawler, etl, alert ...")
    worker.add_argument("--hostname", help="the worker's host name (default: this host's)")
    modes.add_parser("broker", help="the broker accepts our credentials")
    for name in ("api", "http"):
        modes.add_parser(name, help=f"{name} check of a URL").add_argument("url")
    args = parser.parse_args(argv)
    try:
        if args.mode == "worker":
            problem = check_worker(args.service, args.hostname)
        elif args.mode == "broker":
            problem = check_broker()
        elif args.mode == "api":
            problem = check_api(args.url)
        else:
            problem = check_http(args.url)
    except Exception as exc:  # any failure to check is an unhealthy container
        problem = f"{type(exc).__name__}: {exc}"
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
