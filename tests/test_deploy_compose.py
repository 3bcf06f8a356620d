"""docker-compose.yml checked without a container engine.

It must parse and validate against the Compose Specification's JSON schema (the copy that the
check-jsonschema package carries), run one container per consumer queue with exactly the console
entry point the system tests run (each command is started here, against a fresh vhost, and must
consume its queue and no other), reference only files that exist, hold no credentials, and give
every long-running service a health check, a restart policy and memory limits.

Longer than 300 lines on purpose: one test per promise of docker-compose.yml, all on one parsed file.
"""

import importlib.metadata
import importlib.resources
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks_devtools.testing import entry_point
from sqlalchemy import inspect

from celery_tasks import create_app
from task_storage import Base, make_engine, scratch_database

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
CONSUMERS = {"consumer-crawler": "crawler", "consumer-etl": "etl", "consumer-alert": "alert"}
ONE_SHOT = {"db-schema"}
QUEUE_CONTAINERS = [
    "crawler-fetch-page",
    "crawler-crawl-feed",
    "etl-map-keywords",
    "etl-find-thresholds",
    "alert-send-alert",
]
SECRET_ASSIGNMENT = re.compile(r"(?im)^[ \t]*[\"']?([a-z_]*(password|secret|token))[\"']?[ \t]*[:=][ \t]*(\S+)")
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(:\?|:-)?([^}]*)\}")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def consumer_services(services):
    """{compose service: command} of the services running a consumer entry point."""
    return {name: s["command"] for name, s in services.items() if s.get("command", [None])[0] in CONSUMERS}


def compose_schema():
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendor.joinpath("compose-spec.json").read_text())


def test_compose_file_validates_against_the_compose_spec_schema(compose):
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    # The schema is strict enough to catch a typo.
    broken = json.loads(json.dumps(compose))
    broken["services"]["rabbitmq"]["helthcheck"] = broken["services"]["rabbitmq"].pop("healthcheck")
    assert list(validator.iter_errors(broken))


def test_one_container_per_consumer_queue(services):
    commands = consumer_services(services)
    queues = [command[command.index("-Q") + 1] for command in commands.values()]
    assert len(queues) == len(set(queues)), "two containers on one queue: use --scale instead"
    expected = {c.name for c in ALL_CONTRACTS if c.name.split(".")[0] in CONSUMERS.values()}
    assert set(queues) == expected
    for name, command in commands.items():
        entry, option, queue = command
        assert option == "-Q"
        assert queue.split(".")[0] == CONSUMERS[entry], f"{name} runs {entry} on another service's queue"
        assert services[name]["build"]["dockerfile"] == f"deploy/docker/{entry}.Dockerfile"


def test_commands_are_the_installed_console_entry_points(services):
    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")}
    for name, service in services.items():
        if "build" not in service or name in ONE_SHOT:
            continue
        program = service["command"][0]
        assert program in scripts, f"{name}: {program} is not a console entry point of the workspace"
        assert Path(entry_point(program)).exists()  # what the system tests start
    assert services["producer-api"]["command"] == ["producer", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert services["producer-schedule"]["command"] == ["producer", "schedule"]


@pytest.mark.parametrize(
    "service",
    ["crawler-fetch-page", "crawler-crawl-feed", "etl-map-keywords", "etl-find-thresholds", "alert-send-alert"],
)
def test_each_consumer_command_consumes_exactly_its_queue(service, services, start_service, task_settings, tmp_path):
    entry, option, queue = services[service]["command"]
    env = {
        "CELERY_TASKS_DATABASE_URL": f"sqlite:///{tmp_path / 'tasks.db'}",
        "ALERT_CHART_DIR": str(tmp_path / "charts"),
    }
    start_service([entry_point(entry), option, queue], [queue], env=env)
    app = create_app(ALL_CONTRACTS, task_settings)
    try:
        assert app.consumer_count(queue) >= 1
        service_queues = [c.name for c in ALL_CONTRACTS if c.name.split(".")[0] == queue.split(".")[0]]
        assert len(service_queues) > 1 or service.startswith("alert")
        for sibling in service_queues:
            if sibling != queue:
                assert app.consumer_count(sibling) == 0, f"{service} also consumes {sibling}"
    finally:
        app.close()


def test_db_schema_one_off_creates_the_shared_tables_on_postgresql(services):
    command = services["db-schema"]["command"]
    assert command[:2] == ["python", "-c"]
    assert services["db-schema"]["build"]["dockerfile"] == "deploy/docker/consumer-etl.Dockerfile"
    admin_url = os.environ.get("DEPLOY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    with scratch_database(admin_url, prefix="deploy_test") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_TASKS_")}
        env["CELERY_TASKS_DATABASE_URL"] = url
        completed = subprocess.run(
            [sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert completed.returncode == 0, completed.stderr
        engine = make_engine(url)
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
    assert set(Base.metadata.tables) <= tables


def test_referenced_files_exist(services):
    for name, service in services.items():
        if "build" in service:
            context = (DEPLOY / service["build"]["context"]).resolve()
            assert context == ROOT, f"{name} must build from the repository root"
            assert (context / service["build"]["dockerfile"]).is_file()
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"
    assert (DEPLOY / ".env.example").is_file()


def compose_text():
    """The compose file without its comments."""
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in COMPOSE_FILE.read_text().splitlines())


def test_no_guest_and_no_credentials_in_the_compose_file():
    assert "guest" not in COMPOSE_FILE.read_text().lower()
    text = compose_text()
    assert "guest" not in text.lower()
    for line in text.splitlines():
        stripped = line.split("#", 1)[0]
        if re.search(r"(PASSWORD|PASS|SECRET|_AUTH)\b\s*:", stripped) or ("://" in stripped and "@" in stripped):
            assert "${" in stripped, f"a credential that is not a ${{VAR:?}} reference: {line.strip()}"
    for match in INTERPOLATION.finditer(text):
        name, operator, _ = match.groups()
        if re.search("PASSWORD|SECRET|USER$", name):
            assert operator == ":?", f"${{{name}}} must stop compose when unset (${{{name}:?...}})"


def test_no_credentials_in_any_committed_deploy_file():
    tracked = subprocess.run(["git", "ls-files", "deploy"], cwd=ROOT, capture_output=True, text=True, check=True)
    files = [ROOT / name for name in tracked.stdout.split()]
    files += [p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix in {".yml", ".yaml", ".json", ".conf", ".py"}]
    allowed = re.compile(r"^(\$\{[A-Z0-9_]+(:\?[^}]*)?\}|\$\([A-Z0-9_]+\)|CHANGE-ME|\*\*|\{[a-z_]+\})$")
    for path in set(files):
        if not path.exists() or path.suffix in {".pyc"}:
            continue
        text = path.read_text(errors="replace")
        for match in re.finditer(r"[a-z+]+://[^:/\s\"']+:([^@\s\"']+)@", text):
            assert allowed.match(match.group(1)), f"{path.relative_to(ROOT)}: credentials in {match.group(0)}"
        for match in SECRET_ASSIGNMENT.finditer(text):
            value = match.group(3).strip("\"',")
            harmless = not value or value.lower() in {"true", "false", "none"} or value[0] in "{[|>"
            assert harmless or allowed.match(value) or value.startswith(("change-me", "${")), (
                f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
            )


def test_env_example_lists_every_required_variable_with_placeholders_only():
    text = compose_text()
    required = {m.group(1) for m in INTERPOLATION.finditer(text) if m.group(2) == ":?"}
    example = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            example[key] = value
    assert required <= set(example), f"missing from .env.example: {required - set(example)}"
    for key, value in example.items():
        if re.search("PASSWORD|SECRET", key):
            assert value.startswith("change-me"), f"{key} in .env.example must be a change-me placeholder"


def test_the_real_env_file_is_ignored_and_not_committed():
    tracked = subprocess.run(["git", "ls-files", "deploy"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert not [p for p in tracked.stdout.split() if Path(p).name == ".env"]
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, "deploy/.env must be git-ignored"


def test_broker_passwords_match_the_definitions(services):
    template = (DEPLOY / "rabbitmq" / "definitions.template.json").read_text()
    placeholders = set(re.findall(r"\$\{([A-Z0-9_]+)\}", template))
    assert set(services["rabbitmq"]["environment"]) == placeholders
    # Each service logs in as its own user with that user's password.
    for name, service in services.items():
        url = service.get("environment", {}).get("CELERY_TASKS_BROKER_URL")
        if url is None:
            continue
        user = re.match(r"amqp://([a-z]+):\$\{BROKER_([A-Z]+)_PASSWORD", url)
        assert user, f"{name}: {url}"
        assert user.group(1).upper() == user.group(2)
        assert url.endswith("@rabbitmq:5672/celery-tasks")
        if service["command"][0] in CONSUMERS:
            assert user.group(1) == CONSUMERS[service["command"][0]], f"{name} borrows another service's user"


def test_generated_broker_files_are_current():
    completed = subprocess.run(
        [sys.executable, str(DEPLOY / "generate_broker_config.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


def memory_bytes(text):
    number, unit = re.fullmatch(r"(\d+)([kmg]?)b?", str(text).lower()).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


def test_health_checks_restart_policies_limits_and_dependencies(services):
    for name, service in services.items():
        resources = service["deploy"]["resources"]
        limit, reservation = resources["limits"]["memory"], resources["reservations"]["memory"]
        assert memory_bytes(reservation) <= memory_bytes(limit), name
        assert service.get("restart"), f"{name} has no restart policy"
        if name in ONE_SHOT:
            assert service["restart"].startswith("on-failure")
            continue
        assert service["restart"] == "unless-stopped"
        healthcheck = service.get("healthcheck")
        assert healthcheck and healthcheck.get("test") and not healthcheck.get("disable"), f"{name}: no healthcheck"
        for dependency, condition in service.get("depends_on", {}).items():
            wanted = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert condition["condition"] == wanted, f"{name} -> {dependency}"
    for name in consumer_services(services):
        assert {"rabbitmq", "postgres", "db-schema"} <= set(services[name]["depends_on"])
        assert services[name]["stop_grace_period"] == "30s"
        assert services[name]["init"] is True
    assert "mailpit" in services["alert-send-alert"]["depends_on"]


def test_ports_are_published_on_loopback_only(services):
    published = {}
    for name, service in services.items():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
            published[name] = int(port.split(":")[1].split("-")[0])  # a range: one port per replica
    assert published == {"rabbitmq": 15672, "mailpit": 8025, "producer-api": 8000, "flower": 5555, "jaeger": 16686}


def test_every_service_exports_traces_to_the_collector_and_jaeger_shows_them(services):
    collector = yaml.safe_load((DEPLOY / "otel" / "collector.yaml").read_text())
    assert collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    assert collector["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert collector["service"]["pipelines"]["traces"]["exporters"] == ["otlp/jaeger"]
    for name, service in services.items():
        if service.get("command", [None])[0] in {*CONSUMERS, "consumer-diagnostics", "producer"}:
            environment = service["environment"]
            assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318", name
            assert "CELERY_TASKS_LOG_FORMAT" in environment, name


def test_the_api_runs_two_replicas_on_the_shared_result_store(services):
    api = services["producer-api"]
    assert api["deploy"]["replicas"] == 2
    assert api["ports"] == ["127.0.0.1:8000-8001:8000"]
    store = api["environment"]["CELERY_TASKS_RESULT_BACKEND"]
    assert store.startswith("redis://:${REDIS_PASSWORD:?") and store.endswith("@redis:6379/0")
    for name, service in services.items():  # workers and producers must all use the same store
        if "CELERY_TASKS_BROKER_URL" in service.get("environment", {}) and name != "flower":
            assert service["environment"].get("CELERY_TASKS_RESULT_BACKEND") == store, name
    redis = services["redis"]
    assert "$$REDIS_PASSWORD" in " ".join(redis["command"]) and "redis-data:/data" in redis["volumes"]
    assert redis["deploy"]["resources"]["limits"]["memory"] and redis["healthcheck"]["test"]


def test_flower_requires_a_login(services):
    environment = services["flower"]["environment"]
    assert re.fullmatch(r"\$\{FLOWER_USER:\?[^}]*\}:\$\{FLOWER_PASSWORD:\?[^}]*\}", environment["FLOWER_BASIC_AUTH"])


def test_the_api_keys_are_a_git_ignored_compose_secret(compose, services):
    api = services["producer-api"]
    assert api["secrets"] == ["producer-api-keys"]
    assert api["environment"]["PRODUCER_API_KEYS_FILE"] == "/run/secrets/producer-api-keys"
    source = compose["secrets"]["producer-api-keys"]["file"]
    ignored = subprocess.run(["git", "check-ignore", "-q", f"deploy/{source}"], cwd=ROOT, check=False)
    assert ignored.returncode == 0, f"deploy/{source} holds key hashes: it must be git-ignored"
    assert "/healthz" in " ".join(api["healthcheck"]["test"]), "the health check is the one route without a key"
