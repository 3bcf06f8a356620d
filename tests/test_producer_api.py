"""The producer's HTTP API served by `producer serve` (uvicorn) on loopback, against real consumer processes."""

import datetime as dt
import sys
import time
from pathlib import Path

import pytest
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks_devtools.site import SiteServer, generate
from celery_tasks_devtools.testing import entry_point, free_port, peek_headers

sys.path.insert(0, str(Path(__file__).parent))
from api_server import ApiServers

DIAGNOSTIC_QUEUES = ["diagnostics.echo", "diagnostics.sleep", "diagnostics.crash"]


@pytest.fixture
def serve(tmp_path, task_settings):
    """Start `producer serve` as its own process with an admin key; returns (client, process) once it answers."""
    servers = ApiServers(
        tmp_path,
        task_settings,
        {"PRODUCER_HEALTH_QUEUES": ",".join(DIAGNOSTIC_QUEUES), "PRODUCER_API_MAX_BODY_BYTES": "4096"},
    )
    try:
        yield servers.start
    finally:
        servers.stop()


@pytest.fixture
def diagnostics_worker(start_service):
    return start_service([entry_point("consumer-diagnostics"), "--concurrency=2"], DIAGNOSTIC_QUEUES)


def wait_ready(client, task_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/tasks/{task_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if body["ready"]:
            return body
        time.sleep(0.2)
    raise AssertionError(f"task {task_id} not ready after {timeout} s: {body}")


def test_openapi_has_one_route_per_contract_with_its_real_schema(serve):
    client, _ = serve()
    document = client.get("/openapi.json").json()
    for contract in ALL_CONTRACTS:
        operation = document["paths"][f"/tasks/{contract.name}"]["post"]
        reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        schema = document["components"]["schemas"][reference.rsplit("/", 1)[-1]]
        assert set(schema["properties"]) == set(contract.Args.model_fields)
        assert "202" in operation["responses"]
    echo = document["components"]["schemas"]["EchoArgs"]
    assert echo["required"] == ["text"]
    assert echo["properties"]["text"]["maxLength"] == 100_000


def test_post_answers_202_and_get_gives_the_typed_result(serve, diagnostics_worker):
    client, _ = serve()
    response = client.post("/tasks/diagnostics.echo", json={"text": "over http", "number": 7})
    assert response.status_code == 202, response.text
    submitted = response.json()
    assert submitted["name"] == submitted["queue"] == "diagnostics.echo"
    assert submitted["consumers"] >= 1 and submitted["warning"] is None
    assert submitted["status_url"] == f"/tasks/{submitted['task_id']}"
    status = wait_ready(client, submitted["task_id"])
    assert status["state"] == "SUCCESS"
    assert status["result_type"] == "EchoResult"
    assert status["result"]["text"] == "over http" and status["result"]["number"] == 7
    assert status["result"]["worker"]
    # The final state is remembered: asking again gives the same answer.
    assert client.get(f"/tasks/{submitted['task_id']}").json() == status


def test_many_tasks_submitted_concurrently_all_resolve(serve, diagnostics_worker):
    client, _ = serve()
    posted = [client.post("/tasks/diagnostics.echo", json={"text": f"n{n}", "number": n}) for n in range(15)]
    ids = [response.json()["task_id"] for response in posted]
    results = [wait_ready(client, task_id)["result"] for task_id in ids]
    assert [(r["text"], r["number"]) for r in results] == [(f"n{n}", n) for n in range(15)]


def test_a_failing_task_reports_its_error(serve, diagnostics_worker):
    client, _ = serve()
    task_id = client.post("/tasks/diagnostics.crash", json={"message": "boom from http"}).json()["task_id"]
    status = wait_ready(client, task_id)
    assert status["state"] == "FAILURE"
    assert status["result"] is None
    assert status["error"] == {"type": "RequestedFailure", "message": "boom from http"}


def test_invalid_body_is_422_with_every_error_and_nothing_is_sent(serve, task_settings, management, vhost):
    client, _ = serve()
    accepted = client.post("/tasks/crawler.fetch_page", json={"url": "http://example.org/a"})
    assert accepted.status_code == 202
    assert "no consumer" in accepted.json()["warning"]
    refused = client.post("/tasks/crawler.fetch_page", json={"url": "not a url", "kind": "pdf", "colour": "red"})
    assert refused.status_code == 422
    problems = {tuple(error["loc"]): error["type"] for error in refused.json()["detail"]}
    assert problems == {
        ("body", "url"): "url_parsing",
        ("body", "kind"): "literal_error",
        ("body", "colour"): "extra_forbidden",
    }
    broken = client.post(
        "/tasks/crawler.fetch_page", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    # Only the valid request reached the queue.
    headers = peek_headers(management, vhost, "crawler.fetch_page")
    assert [h["id"] for h in headers] == [accepted.json()["task_id"]]
    assert headers[0]["x-contract"] == "crawler.fetch_page"
    assert headers[0]["x-contract-version"] == 1


def test_unknown_names_and_ids_are_clear_404s(serve):
    client, _ = serve()
    response = client.post("/tasks/diagnostics.ecko", json={"text": "x"})
    assert response.status_code == 404
    assert "unknown task name 'diagnostics.ecko'" in response.json()["detail"]
    assert "did you mean 'diagnostics.echo'" in response.json()["detail"]
    missing = client.get("/tasks/0b6e5a3c-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert "rpc://" in missing.json()["detail"]


def test_bodies_over_the_limit_are_413_declared_or_streamed(serve):
    client, _ = serve()
    big = {"text": "x" * 5000}
    response = client.post("/tasks/diagnostics.echo", json=big)
    assert response.status_code == 413
    assert "limit of 4096 bytes" in response.json()["detail"]

    def chunks():
        for _ in range(10):
            yield b"x" * 1000

    streamed = client.post("/tasks/diagnostics.echo", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_contracts_lists_every_contract_with_schemas(serve):
    client, _ = serve()
    rows = client.get("/contracts").json()
    assert [row["name"] for row in rows] == [contract.name for contract in ALL_CONTRACTS]
    assert all("properties" in row["args_schema"] for row in rows)


def test_healthz_needs_consumers_on_every_required_queue(serve, diagnostics_worker):
    client, _ = serve()
    healthy = client.get("/healthz")
    assert healthy.status_code == 200, healthy.text
    assert healthy.json()["broker"]["reachable"] is True
    assert all(healthy.json()["consumers"][queue] >= 1 for queue in DIAGNOSTIC_QUEUES)

    client, _ = serve(env={"PRODUCER_HEALTH_QUEUES": "diagnostics.echo,etl.map_keywords"})
    unhealthy = client.get("/healthz")
    assert unhealthy.status_code == 503
    assert unhealthy.json()["missing"] == ["etl.map_keywords"]
    assert unhealthy.json()["consumers"]["diagnostics.echo"] >= 1


def test_unreachable_broker_is_503(serve, task_settings):
    port = free_port()  # nobody listens there
    settings = task_settings.model_copy(
        update={"broker_url": f"amqp://guest:guest@127.0.0.1:{port}//", "connect_timeout": 1.0, "publish_retries": 0}
    )
    client, _ = serve(settings=settings)
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["broker"]["reachable"] is False
    assert "***" in health.json()["broker"]["url"]
    submitted = client.post("/tasks/diagnostics.echo", json={"text": "x"})
    assert submitted.status_code == 503
    assert "is unreachable" in submitted.json()["detail"]


def test_a_crawl_submitted_over_http_runs_on_the_real_crawler(serve, start_service, tmp_path):
    today = dt.datetime.now(dt.UTC).date()
    site = SiteServer(generate(today, days=3)).start()
    try:
        env = {
            "CELERY_TASKS_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
            "CRAWLER_ALLOW_LOOPBACK": "true",
            "CRAWLER_POLITENESS_DELAY": "0",
        }
        start_service([entry_point("consumer-crawler")], ["crawler.crawl_feed", "crawler.fetch_page"], env=env)
        client, _ = serve()
        article = site.site.articles[0]
        page = client.post("/tasks/crawler.fetch_page", json={"url": site.base_url + article.path, "source": "demo"})
        feed = client.post("/tasks/crawler.crawl_feed", json={"feed_url": site.feed_urls[0], "source": "demo"})
        assert page.status_code == feed.status_code == 202
        fetched = wait_ready(client, page.json()["task_id"])
        assert fetched["state"] == "SUCCESS" and fetched["result_type"] == "FetchPageResult"
        assert fetched["result"]["status"] == 200
        assert fetched["result"]["title"] == article.title
        assert fetched["result"]["day"] == article.published.date().isoformat()
        crawled = wait_ready(client, feed.json()["task_id"])
        assert crawled["result_type"] == "CrawlFeedResult"
        entries = len(site.site.section("engineering"))
        assert crawled["result"]["entries"] == entries
        assert crawled["result"]["new"] + crawled["result"]["unchanged"] + crawled["result"]["updated"] == entries
    finally:
        site.stop()
