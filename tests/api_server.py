"""Start `producer serve` by its entry point on loopback with a keys file, for the API's system tests."""

import time
from pathlib import Path

import httpx
from celery_tasks_devtools.ports import free_port
from celery_tasks_devtools.testing import ServiceProcess, entry_point, settings_env, stop_together
from producer.keys import create_key, read_keys_file, revoke_key, write_keys_file

#: What the tests' default key may do: everything, the restricted families named, and see the full document.
EVERYTHING = ["*", "alert.*", "diagnostics.*"]


class KeysFile:
    """A keys file the tests add keys to (through producer.keys, as `producer keys create` does)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.issued: list[str] = []

    def create(self, name="test", submit=EVERYTHING, **options) -> str:
        keys, key = create_key(read_keys_file(self.path), name, submit=list(submit), **options)
        write_keys_file(self.path, keys)
        self.issued.append(key)
        return key

    def revoke(self, key: str) -> None:
        write_keys_file(self.path, revoke_key(read_keys_file(self.path), key.split("_")[1]))


class ApiServers:
    """`producer serve` processes, each with its client; stop() ends them all."""

    def __init__(self, tmp_path: Path, task_settings, base_env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.task_settings = task_settings
        self.base_env = base_env
        self.keys = KeysFile(tmp_path / "api-keys.json")
        self.started: list[tuple[ServiceProcess, httpx.Client]] = []

    def start(self, env=None, settings=None, key=None, port=None):
        """Start one server; returns (client carrying ``key`` or a new full key, process) once it answers."""
        key = key or self.keys.create(admin=True)
        port = port or free_port()
        environment = {
            **settings_env(settings or self.task_settings),
            "PRODUCER_API_KEYS_FILE": str(self.keys.path),
            **self.base_env,
            **(env or {}),
        }
        process = ServiceProcess(
            [entry_point("producer"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            environment,
            self.tmp_path / f"serve-{port}-{len(self.started)}.log",
        )
        client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=30, headers={"Authorization": f"Bearer {key}"}
        )
        self.started.append((process, client))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.process.poll() is None, process.log_text()
            try:
                client.get("/healthz")
                return client, process
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError(f"producer serve did not answer:\n{process.log_text()}")

    def stop(self) -> None:
        for _, client in self.started:
            client.close()
        stop_together([process for process, _ in self.started], grace=30.0)
