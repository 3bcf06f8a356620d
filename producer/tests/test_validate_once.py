"""Validate once: each way of sending (CLI, HTTP API, pipeline) validates the user's input exactly once.

A test contract counts every validation of its argument model (a pydantic ``model_validator``
sees FastAPI's body validation as well as ``parse_arguments``); the tasks go to a real broker,
in the test's own virtual host, and nobody consumes them.
"""

import json
from typing import Any

import pytest
import redis
from celery_tasks.registry import get_contract
from celery_tasks_devtools.counted import Counted, CountedArgs, validations_fixture  # noqa: F401 (the fixture)
from fastapi.testclient import TestClient
from producer.cli import app as cli
from producer.keys import KeysFile, create_key
from producer.pipeline import CRAWL, Item, Pipeline
from producer.report import SilentReporter
from producer.settings import load_producer_settings
from typer.testing import CliRunner

from celery_tasks import create_app
from producer import api, client, commands_tasks

# A Redis db of its own: this file runs beside the system tests (scripts/run_tests.sh), whose xdist workers use
# dbs 13 and down (tests/results_stores.py), and it deletes every key created in its db while it ran.
REDIS_DB = 9


@pytest.fixture
def counted_app(task_settings):
    app = create_app([Counted], task_settings)
    yield app
    app.close()


def sent(management, vhost: str) -> list[dict[str, Any]]:
    """The keyword arguments of every message in the contract's queue."""
    return [json.loads(message["payload"])[1] for message in management.peek(vhost, Counted.name, 20)]


def test_cli_submit_validates_once(monkeypatch, counted_app, management, vhost, validations):
    monkeypatch.setattr(client, "get_contract", lambda name: Counted if name == Counted.name else get_contract(name))
    monkeypatch.setattr(client, "producer_app", lambda settings: counted_app)
    monkeypatch.setattr(commands_tasks, "load_settings", lambda: counted_app.settings)
    result = CliRunner().invoke(cli, ["submit", Counted.name, "--args", '{"text": "cli", "number": 1}'])
    assert result.exit_code == 0, result.output
    assert len(validations) == 1
    assert sent(management, vhost) == [{"text": "cli", "number": 1}]

    refused = CliRunner().invoke(cli, ["submit", Counted.name, "--args", '{"number": "many"}'])
    assert refused.exit_code == 2
    assert "text: Field required" in refused.output and "nothing was sent." in refused.output
    assert len(validations) == 2


@pytest.fixture(params=["rpc://", "redis"])
def result_backend(request):
    if request.param != "redis":
        yield request.param
        return
    store = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    before = set(store.scan_iter(count=1000))
    yield f"redis://127.0.0.1:6379/{REDIS_DB}"
    created = [key for key in store.scan_iter(count=1000) if key not in before]
    if created:
        store.delete(*created)
    store.close()


def test_api_submit_validates_once(monkeypatch, task_settings, management, vhost, validations, result_backend):
    monkeypatch.setattr(api, "ALL_CONTRACTS", [Counted])
    keys, token = create_key(KeysFile(keys=[]), "validation counter", submit=["*"])
    settings = load_producer_settings(api_keys=keys.model_dump_json())
    app = create_app([Counted], task_settings.model_copy(update={"result_backend": result_backend}))
    with TestClient(api.create_api(settings, app.settings, app)) as http:
        headers = {"Authorization": f"Bearer {token}"}
        accepted = http.post(f"/tasks/{Counted.name}", json={"text": "http", "number": 2}, headers=headers)
        assert accepted.status_code == 202, accepted.text
        assert len(validations) == 1
        refused = http.post(f"/tasks/{Counted.name}", json={"number": "many"}, headers=headers)
        assert refused.status_code == 422
        assert {tuple(error["loc"]) for error in refused.json()["detail"]} == {("body", "text"), ("body", "number")}
        assert len(validations) == 2
    assert sent(management, vhost) == [{"text": "http", "number": 2}]


def test_a_pipeline_step_validates_once(counted_app, management, vhost, validations):
    pipeline = Pipeline(counted_app, load_producer_settings(task_timeout=0.5), SilentReporter())
    items = [Item("good", Counted, {"text": "pipeline", "number": 3}), Item("bad", Counted, {"text": ["x"]})]
    outcomes = pipeline.run_group(CRAWL, items)
    assert [outcome.label for outcome in outcomes] == ["bad", "good"]
    assert "text: Input should be a valid string" in (outcomes[0].error or "")
    assert outcomes[1].task_id is not None  # sent; nobody consumes it, so its result times out
    assert len(validations) == 2
    assert sent(management, vhost) == [{"text": "pipeline", "number": 3}]
