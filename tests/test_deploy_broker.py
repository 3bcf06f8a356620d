"""The compose broker's definitions on a real RabbitMQ: no guest, least-privilege users that still work.

A private RabbitMQ node (own node name, ports, data and cookie; the shared broker is never touched)
boots with deploy/rabbitmq/rabbitmq.conf and the definitions rendered by render-definitions.sh,
exactly as the compose container does. Then the services run against it with the credentials and
URLs written in docker-compose.yml: the diagnostics worker started by its console entry point, the
producer's typed calls, Flower behind its login, and the container health check.

Longer than 300 lines on purpose: the tests share one private node booted once per module (about 10 s);
splitting the file would boot it twice.
"""

import contextlib
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import amqp
import kombu
import pytest
import requests
import yaml
from amqp.exceptions import AccessRefused
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.settings import load_settings
from celery_tasks.tasks.diagnostics import Crash, Echo
from celery_tasks_devtools.testing import ServiceProcess, entry_point, wait_for_consumers
from producer.keys import KeysFile, create_key, write_keys_file

from broker_admin import ManagementClient
from celery_tasks import create_app, topology

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
RENDER = DEPLOY / "rabbitmq" / "render-definitions.sh"
TEMPLATE = DEPLOY / "rabbitmq" / "definitions.template.json"
HEALTHCHECK = DEPLOY / "docker" / "healthcheck.py"
VHOST = "celery-tasks"
DIAGNOSTIC_QUEUES = [c.name for c in ALL_CONTRACTS if c.name.startswith("diagnostics.")]

sys.path.insert(0, str(DEPLOY))
sys.path.insert(0, str(Path(__file__).parent))
import faults  # noqa: E402
import generate_broker_config  # noqa: E402


def compose_value(text, variables):
    """Interpolate ${VAR}, ${VAR:?message} and ${VAR:-default} as docker compose does."""

    def replace(match):
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        value = variables.get(name, "")
        if operator == ":?" and not value:
            raise AssertionError(f"compose would stop: {argument}")
        if operator == ":-" and not value:
            return argument
        return value

    return re.sub(r"\$\{([A-Z0-9_]+)(?:(:\?|:-)([^}]*))?\}", replace, text)


class DeployBroker(faults.PrivateBroker):
    """A private RabbitMQ node configured like the compose `rabbitmq` service (definitions, no guest)."""

    # Settings RabbitMQ 3.x does not know (the compose image is RabbitMQ 4; test_deploy_broker4 keeps them).
    unknown_settings: tuple[str, ...] = ("deprecated_features.",)

    def __init__(self, base, passwords):
        super().__init__(base)
        self.passwords = passwords

    def render(self):
        """Run render-definitions.sh as the container does; returns the rendered file."""
        target = self.base / "definitions" / "definitions.json"
        env = {"PATH": os.environ["PATH"], "DEFINITIONS_TEMPLATE": str(TEMPLATE), "DEFINITIONS_FILE": str(target)}
        env |= {generate_broker_config.password_variable(user): pw for user, pw in self.passwords.items()}
        completed = subprocess.run(["sh", str(RENDER), "true"], env=env, capture_output=True, text=True, check=False)
        assert completed.returncode == 0, completed.stderr
        return target

    def write_config(self, definitions):
        """deploy/rabbitmq/rabbitmq.conf with this node's ports and the rendered definitions' path."""
        replaced = {
            "load_definitions": f"load_definitions = {definitions}",
            "listeners.tcp.default": f"listeners.tcp.default = 127.0.0.1:{self.amqp_port}",
            "management.tcp.port": f"management.tcp.port = {self.management_port}\nmanagement.tcp.ip = 127.0.0.1",
            "disk_free_limit.absolute": "disk_free_limit.absolute = 50MB",  # a test machine's disk
        }
        lines = []
        for line in (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text().splitlines():
            if self.unknown_settings and line.startswith(self.unknown_settings):
                continue
            lines.append(replaced.get(line.split("=", 1)[0].strip(), line))
        lines.append("log.console = false")
        (self.base / "rabbitmq.conf").write_text("\n".join(lines) + "\n")

    def api(self, path, user="admin", password=None):
        return requests.get(
            f"{self.management_url}/api/{path}", auth=(user, password or self.passwords[user]), timeout=10
        )

    def contract_queues_once_policed(self, timeout=30.0):
        """Each contract queue of the vhost as the management API shows it, once its policy applies (bounded)."""
        deadline = time.monotonic() + timeout
        found = {}
        for contract in ALL_CONTRACTS:
            while True:
                queue = self.api(f"queues/{VHOST}/{contract.name}").json()
                if queue.get("policy") or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            found[contract.name] = queue
        return found

    def _management_up(self):
        # There is no guest here: ask as the admin user of the definitions.
        with contextlib.suppress(requests.RequestException):
            return self.api("overview").status_code == 200
        return False

    def start(self, timeout=120):
        self.write_config(self.render())
        return super().start(timeout)


@pytest.fixture(scope="module")
def passwords():
    return {user["name"]: secrets.token_hex(16) for user in generate_broker_config.users()}


@pytest.fixture(scope="module")
def result_store(tmp_path_factory):
    """A private Redis with a password, standing in for compose's `redis` service (the shared result store)."""
    (port,) = faults.free_ports(1)
    password = secrets.token_hex(16)
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--requirepass", password, "--save", ""]
    process = ServiceProcess(argv, {}, tmp_path_factory.mktemp("deploy-redis") / "redis.log")
    try:
        faults.wait_until(lambda: "Ready to accept" in process.log_text(), 30, "redis start")
        yield port, password
    finally:
        process.stop()


@pytest.fixture(scope="module")
def broker(tmp_path_factory, passwords, result_store):
    node = DeployBroker(tmp_path_factory.mktemp("deploy-broker"), passwords)
    node.result_store = result_store
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def service_env(compose, service, broker, passwords, **extra):
    """A compose service's environment, interpolated, with rabbitmq:5672/15672 pointing at our node."""
    variables = {generate_broker_config.password_variable(user): pw for user, pw in passwords.items()}
    redis_port, redis_password = broker.result_store
    variables |= {"FLOWER_USER": "ops", "FLOWER_PASSWORD": "flower-login-secret", "REDIS_PASSWORD": redis_password}
    variables |= {"OTEL_TRACES_EXPORTER": "none", **extra}  # no collector here (tracing: test_observability_*)
    env = {}
    for name, raw in compose["services"][service]["environment"].items():
        value = compose_value(str(raw), variables)
        value = value.replace("@redis:6379/", f"@127.0.0.1:{redis_port}/")
        value = value.replace("@rabbitmq:5672/", f"@127.0.0.1:{broker.amqp_port}/")
        value = value.replace("@rabbitmq:15672/", f"@127.0.0.1:{broker.management_port}/")
        env[name] = value.replace("http://rabbitmq:15672", broker.management_url)
    return env


def amqp_connection(broker, user, password):
    connection = amqp.Connection(
        f"127.0.0.1:{broker.amqp_port}", userid=user, password=password, virtual_host=VHOST, connect_timeout=10
    )
    connection.connect()
    return connection


def start_process(argv, env, log_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_TASKS_", "CELERY_BROKER", "FLOWER_"))}
    return ServiceProcess(argv, {**clean, **env}, log_path)


def run_check(argv, env):
    return subprocess.run(argv, check=False, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def test_no_guest_only_the_generated_users(broker, passwords):
    users = {user["name"]: user for user in broker.api("users").json()}
    assert set(users) == set(passwords)
    assert "guest" not in users
    assert broker.api("overview", "guest", "guest").status_code == 401
    with pytest.raises(AccessRefused):
        amqp_connection(broker, "guest", "guest")
    assert broker.api("overview", "crawler").status_code == 401, "workers have no management access"
    vhosts = {vhost["name"] for vhost in broker.api("vhosts").json()}
    assert VHOST in vhosts


def test_every_contract_queue_gets_its_dead_letter_policy(broker, passwords, compose):
    env = service_env(compose, "producer-api", broker, passwords)
    settings = load_settings(broker_url=env["CELERY_TASKS_BROKER_URL"], management_url=broker.management_url)
    app = create_app(ALL_CONTRACTS, settings)
    for contract in ALL_CONTRACTS:
        app.declare_topology_once(contract.name)  # with the producer's own, limited, rights
    queues = broker.contract_queues_once_policed()
    for contract in ALL_CONTRACTS:
        queue = queues[contract.name]
        arguments = topology.task_queue(contract.name, settings.delivery_limit).queue_arguments
        assert queue["policy"] == f"dead-letter-{contract.name}"
        definition = queue["effective_policy_definition"]
        assert definition["dead-letter-exchange"] == arguments["x-dead-letter-exchange"] == f"{contract.name}.dlx"
        assert definition["dead-letter-routing-key"] == f"{contract.name}.dlq"
        assert definition["delivery-limit"] == arguments["x-delivery-limit"] == settings.delivery_limit
    app.close()


def test_services_run_with_their_least_privilege_users(broker, passwords, compose, tmp_path):
    worker_env = service_env(compose, "diagnostics", broker, passwords)
    argv = [entry_point(c) if i == 0 else c for i, c in enumerate(compose["services"]["diagnostics"]["command"])]
    worker = start_process([*argv, "--concurrency=1"], worker_env, tmp_path / "diagnostics.log")
    api_env = service_env(compose, "producer-api", broker, passwords)
    producer = create_app(
        ALL_CONTRACTS,
        load_settings(
            broker_url=api_env["CELERY_TASKS_BROKER_URL"],
            result_backend=api_env["CELERY_TASKS_RESULT_BACKEND"],  # the store every service shares
            management_url=broker.management_url,
        ),
    )
    try:
        admin = ManagementClient(broker.management_url, "admin", passwords["admin"], retries=0)
        wait_for_consumers(admin, VHOST, DIAGNOSTIC_QUEUES, 60, worker.process)
        # A typed round trip through the producer's and the worker's users.
        assert producer.tasks[Echo.name].delay("least privilege", 7).get(timeout=30).text == "least privilege"
        # A failing task is parked in its .dlq: the worker may publish to its dead-letter exchange.
        with pytest.raises(Exception, match="requested failure"):
            producer.tasks[Crash.name].delay().get(timeout=30)
        deadline = time.monotonic() + 30
        while broker.api(f"queues/{VHOST}/{Crash.name}.dlq").json().get("messages", 0) < 1:
            assert time.monotonic() < deadline, "the failed task was not parked"
            time.sleep(0.5)
        # The container health check, with the worker's own credentials, sees this worker ...
        check = [sys.executable, str(HEALTHCHECK), "worker", "--service", "diagnostics"]
        healthy = run_check(check, worker_env)
        assert healthy.returncode == 0, healthy.stderr
        assert worker.log_text().count("ACCESS_REFUSED") == 0, worker.log_text()[-3000:]
    finally:
        worker.stop()
        producer.close()
    # ... and reports it gone once it stopped.
    deadline = time.monotonic() + 30
    while True:
        gone = run_check(check, worker_env)
        if gone.returncode == 1 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert gone.returncode == 1
    assert "no consumer" in gone.stderr or "does not exist" in gone.stderr


def test_producer_api_and_schedule_run_with_the_producer_user(broker, passwords, compose, tmp_path):
    (port,) = faults.free_ports(1)
    api_env = service_env(compose, "producer-api", broker, passwords)
    assert api_env["PRODUCER_API_KEYS_FILE"] == "/run/secrets/producer-api-keys"  # the compose secret
    keys, key = create_key(KeysFile(keys=[]), "deploy test", submit=["diagnostics.echo"])
    api_env["PRODUCER_API_KEYS_FILE"] = str(tmp_path / "producer-api-keys.json")
    write_keys_file(tmp_path / "producer-api-keys.json", keys)
    command = compose["services"]["producer-api"]["command"]
    assert command[:2] == ["producer", "serve"]
    api = start_process(
        [entry_point("producer"), "serve", "--host", "127.0.0.1", "--port", str(port)], api_env, tmp_path / "api.log"
    )
    schedule_env = service_env(
        compose,
        "producer-schedule",
        broker,
        passwords,
    )
    # A feed crawled every 3 s, so that beat publishes within the test.
    schedule_env |= {"PRODUCER_FEEDS": "http://127.0.0.1:9/feed.xml", "PRODUCER_CRAWL_EVERY_MINUTES": "0.05"}
    schedule_env["PRODUCER_SCHEDULE_DIR"] = str(tmp_path / "schedule")
    beat = start_process(
        [entry_point(c) if i == 0 else c for i, c in enumerate(compose["services"]["producer-schedule"]["command"])],
        schedule_env,
        tmp_path / "schedule.log",
    )
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.RequestException):
                health = requests.get(url, timeout=10)
                break
            assert time.monotonic() < deadline, api.log_text()[-3000:]
            time.sleep(0.5)
        assert health.json()["broker"]["reachable"] is True
        # No consumer runs, so /healthz is 503; the container is still healthy: the API answers.
        assert run_check([sys.executable, str(HEALTHCHECK), "api", url], api_env).returncode == 0
        submitted = requests.post(
            f"http://127.0.0.1:{port}/tasks/{Echo.name}",
            json={"text": "hi"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        )
        assert submitted.status_code == 202, submitted.text
        # Beat published the feed's crawl with the producer's rights.
        deadline = time.monotonic() + 60
        while broker.api(f"queues/{VHOST}/crawler.crawl_feed").json().get("messages", 0) < 1:
            assert time.monotonic() < deadline, beat.log_text()[-3000:]
            time.sleep(1)
        assert run_check([sys.executable, str(HEALTHCHECK), "broker"], schedule_env).returncode == 0
        for process in (api, beat):
            assert "ACCESS_REFUSED" not in process.log_text(), process.log_text()[-3000:]
    finally:
        beat.stop()
        api.stop()


def test_a_service_user_cannot_touch_another_services_queues(broker, passwords):
    def connect(user):
        url = f"amqp://{user}:{passwords[user]}@127.0.0.1:{broker.amqp_port}/{VHOST}"
        return kombu.Connection(url, connect_timeout=10)

    with connect("crawler") as connection:
        topology.declare(connection.channel(), "crawler.fetch_page", 5)  # its own queue: allowed
        for name in ("etl.map_keywords", "alert.send_alert"):
            with pytest.raises(AccessRefused):
                topology.declare(connection.channel(), name, 5)
        with pytest.raises(AccessRefused):
            connection.channel().basic_get("diagnostics.echo")
    with connect("flower") as connection:
        with pytest.raises(AccessRefused):
            connection.channel().basic_get("crawler.fetch_page")  # Flower watches events, never tasks
        with pytest.raises(AccessRefused):
            topology.declare(connection.channel(), "crawler.fetch_page", 5)


def test_flower_asks_for_its_login_and_sees_the_worker(broker, passwords, compose, tmp_path):
    worker_env = service_env(compose, "diagnostics", broker, passwords)
    worker = start_process(
        [entry_point("consumer-diagnostics"), "--concurrency=1"], worker_env, tmp_path / "diagnostics.log"
    )
    flower_env = service_env(compose, "flower", broker, passwords)
    (port,) = faults.free_ports(1)
    command = compose["services"]["flower"]["command"]
    argv = [entry_point(command[0]), *[arg for arg in command[1:] if not arg.startswith(("--port", "--address"))]]
    flower = start_process([*argv, f"--port={port}", "--address=127.0.0.1"], flower_env, tmp_path / "flower.log")
    base = f"http://127.0.0.1:{port}"
    login = ("ops", "flower-login-secret")
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{base}/healthcheck", timeout=5).status_code == 200:
                    break
            assert time.monotonic() < deadline, flower.log_text()[-3000:]
            time.sleep(0.5)
        # The health check answers without a login (the container's HEALTHCHECK uses it) ...
        check = [sys.executable, str(HEALTHCHECK), "http", f"{base}/healthcheck"]
        assert subprocess.run(check, check=False, capture_output=True, timeout=60).returncode == 0
        # ... everything else needs one.
        assert requests.get(f"{base}/", timeout=10).status_code == 401
        assert requests.get(f"{base}/api/workers", timeout=10).status_code == 401
        assert requests.get(f"{base}/", auth=("ops", "wrong"), timeout=10).status_code == 401
        deadline = time.monotonic() + 60
        while True:
            workers = requests.get(f"{base}/api/workers?refresh=1", auth=login, timeout=30).json()
            if any(name.startswith("diagnostics@") for name in workers) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert any(name.startswith("diagnostics@") for name in workers), flower.log_text()[-3000:]
        # The broker page reads queue lengths through the management API with Flower's own user.
        assert requests.get(f"{base}/broker", auth=login, timeout=30).status_code == 200
        assert "ACCESS_REFUSED" not in flower.log_text()
    finally:
        flower.stop()
        worker.stop()


@pytest.mark.parametrize(
    "password", ["", "change-me-crawler", "short-1", "has/slash-in-it", "has space inside", 'quote"in-password']
)
def test_render_refuses_unusable_passwords(tmp_path, passwords, password):
    env = {"PATH": os.environ["PATH"], "DEFINITIONS_TEMPLATE": str(TEMPLATE)}
    env["DEFINITIONS_FILE"] = str(tmp_path / "definitions.json")
    env |= {generate_broker_config.password_variable(user): pw for user, pw in passwords.items()}
    env["BROKER_CRAWLER_PASSWORD"] = password
    completed = subprocess.run(["sh", str(RENDER), "true"], env=env, capture_output=True, text=True, check=False)
    assert completed.returncode == 64
    assert "BROKER_CRAWLER_PASSWORD" in completed.stderr
    assert not (tmp_path / "definitions.json").exists()
