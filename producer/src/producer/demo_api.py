"""The demo's HTTP step: its own API key, `producer serve` on loopback, one task sent and read over HTTP with it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from celery_tasks_devtools.ports import free_port
from celery_tasks_devtools.processes import ServiceGroup, entry_point

from producer.errors import DemoError
from producer.keys import KeysFile, create_key, key_id_of, write_keys_file

API_TIMEOUT = 60.0


def _call(method: str, url: str, key: str | None = None, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """One HTTP request; its status and decoded JSON body (None when there is none)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - a loopback http:// URL of ours
    request.add_header("content-type", "application/json")
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            text = answer.read()
            return answer.status, json.loads(text) if text else None
    except urllib.error.HTTPError as exc:
        text = exc.read()
        return exc.code, json.loads(text) if text else None


def api_round_trip(
    services: ServiceGroup, env: dict[str, str], output: Path, page_url: str, say: Callable[[str], None]
) -> str:
    """Create the demo's key, serve the API with it, send crawler.fetch_page over HTTP and poll it; the final state."""
    keys_file = output / "api-keys.json"
    keys, key = create_key(KeysFile(keys=[]), "demo", submit=["crawler.*"])
    write_keys_file(keys_file, keys)  # hashes only: the key itself lives in this process
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = [entry_point("producer"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    api = services.start(
        "producer-api", argv, {**env, "PRODUCER_API_KEYS_FILE": str(keys_file)}, output / "logs" / "producer-api.log"
    )
    deadline = time.monotonic() + API_TIMEOUT
    while True:
        try:
            _call("GET", f"{base}/healthz")
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if api.process.poll() is not None or time.monotonic() > deadline:
                raise DemoError(f"producer serve did not answer on {base}; see {api.log_path}") from None
            time.sleep(0.2)
    status, refused = _call("GET", f"{base}/contracts")
    if status != 401:
        raise DemoError(f"the API answered {status} to a request without a key: {refused}")
    status, submitted = _call("POST", f"{base}/tasks/crawler.fetch_page", key, {"url": page_url})
    if status != 202:
        raise DemoError(f"POST /tasks/crawler.fetch_page answered {status}: {submitted}")
    task_id = submitted["task_id"]
    state: dict[str, Any] = {}
    while time.monotonic() < deadline and not state.get("ready"):
        time.sleep(0.2)
        _, state = _call("GET", f"{base}/tasks/{task_id}", key)
    say(
        f"  HTTP API on {base} with the demo's key {key_id_of(key)} (hash in {keys_file.name}): "
        f"POST /tasks/crawler.fetch_page -> 202, GET /tasks/{task_id} -> {state.get('state', '?')}; "
        "without a key -> 401"
    )
    return str(state.get("state", "UNKNOWN"))
