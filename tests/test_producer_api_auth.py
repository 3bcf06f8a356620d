"""Who may call `producer serve`: keys, scopes, limits and the audit log, against real server processes.

Each server is started by its entry point on loopback with a keys file written as `producer keys
create` writes it; refusals are checked exactly as a client sees them (status, headers, body).
"""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks_devtools.testing import entry_point

sys.path.insert(0, str(Path(__file__).parent))
from api_server import ApiServers

CHALLENGE = 'Bearer realm="producer"'
CRAWLER = [c.name for c in ALL_CONTRACTS if c.name.startswith("crawler.")]


@pytest.fixture
def servers(tmp_path, task_settings):
    started = ApiServers(tmp_path, task_settings, {"PRODUCER_HEALTH_QUEUES": "diagnostics.echo"})
    try:
        yield started
    finally:
        started.stop()


def bare(client, headers=None):
    """A client to the same server without the key it carries."""
    return httpx.Client(base_url=client.base_url, timeout=30, headers=headers or {})


def assert_bare_401(response):
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == CHALLENGE
    assert response.content == b""


def audit_lines(process):
    return [json.loads(line) for line in process.log_text().splitlines() if line.startswith('{"event": "api_request"')]


ROUTES = [
    ("GET", "/contracts", None),
    ("GET", "/openapi.json", None),
    ("GET", "/docs", None),
    ("POST", "/tasks/crawler.fetch_page", {"url": "http://example.org/"}),
    ("POST", "/tasks/no.such_contract", {}),
    ("GET", f"/tasks/{uuid.uuid4()}", None),
]


def test_every_route_but_healthz_answers_a_bare_401_without_a_valid_key(servers):
    client, process = servers.start()
    key = servers.keys.issued[0]
    key_id = key.split("_")[1]
    refused_headers = {
        "no header": {},
        "basic scheme": {"Authorization": "Basic dXNlcjpwYXNz"},
        "bearer without key": {"Authorization": "Bearer"},
        "key without scheme": {"Authorization": key},
        "not a key": {"Authorization": "Bearer hello"},
        "truncated key": {"Authorization": f"Bearer {key[:-1]}"},
        "wrong secret": {"Authorization": f"Bearer ctk_{key_id}_{'A' * 43}"},
        "unknown id": {"Authorization": f"Bearer ctk_{'0' * 12}_{'A' * 43}"},
    }
    for case, headers in refused_headers.items():
        with bare(client, headers) as anonymous:
            for method, path, body in ROUTES:
                response = anonymous.request(method, path, json=body)
                assert response.status_code == 401, (case, method, path)
                assert_bare_401(response)
            assert anonymous.get("/healthz").status_code in (200, 503)  # public, for probes
    assert client.get("/contracts").status_code == 200
    reasons = {line["reason"] for line in audit_lines(process) if line["status"] == 401}
    assert reasons == {"missing or malformed Authorization header", "malformed key", "wrong key", "unknown key id"}


def test_rotation_and_revocation_need_no_restart(servers):
    client, _ = servers.start()
    old = servers.keys.issued[0]
    new = servers.keys.create("rotated", submit=["crawler.*"])
    with bare(client, {"Authorization": f"Bearer {new}"}) as rotated:
        assert rotated.get("/contracts").status_code == 200  # created after the server started
        assert client.get("/contracts").status_code == 200  # both valid during the rotation
        servers.keys.revoke(old)
        assert_bare_401(client.get("/contracts"))
        assert_bare_401(client.post("/tasks/crawler.fetch_page", json={"url": "http://example.org/"}))
        assert rotated.get("/contracts").status_code == 200


def test_scopes_decide_submit_read_and_listing(servers, management, vhost):
    admin, process = servers.start()
    crawler_key = servers.keys.create("crawler-bot", submit=["crawler.*"])
    star_key = servers.keys.create("star", submit=["*"])
    crawler = bare(admin, {"Authorization": f"Bearer {crawler_key}"})
    star = bare(admin, {"Authorization": f"Bearer {star_key}"})
    with crawler, star:
        for client, contract in [
            (crawler, "diagnostics.echo"),
            (crawler, "etl.map_keywords"),
            (star, "alert.send_alert"),
        ]:
            refused = client.post(f"/tasks/{contract}", json={"text": "x"})
            assert refused.status_code == 403
            assert refused.json()["detail"].endswith(f"may not submit {contract} tasks (outside its scopes)")
        assert star.post("/tasks/diagnostics.crash", json={"message": "x"}).status_code == 403
        echo = admin.post("/tasks/diagnostics.echo", json={"text": "admin's"})
        assert echo.status_code == 202
        task_id = echo.json()["task_id"]
        read = crawler.get(f"/tasks/{task_id}")
        assert read.status_code == 403
        assert read.json()["detail"].endswith("may not read diagnostics.echo tasks (outside its scopes)")
        assert admin.get(f"/tasks/{task_id}").status_code == 200
        fetch = crawler.post("/tasks/crawler.fetch_page", json={"url": "http://example.org/"})
        assert fetch.status_code == 202
        assert crawler.get(f"/tasks/{fetch.json()['task_id']}").status_code == 200

        assert [row["name"] for row in crawler.get("/contracts").json()] == CRAWLER
        assert [row["name"] for row in admin.get("/contracts").json()] == [c.name for c in ALL_CONTRACTS]
        document = crawler.get("/openapi.json").json()
        assert set(document["paths"]) == {
            *(f"/tasks/{n}" for n in CRAWLER),
            "/tasks/{task_id}",
            "/contracts",
            "/healthz",
        }
        assert "EchoArgs" not in document["components"]["schemas"]
        assert "SendAlertArgs" not in json.dumps(document)
        assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
        assert "security" not in document["paths"]["/healthz"]["get"]
        full = admin.get("/openapi.json").json()
        assert {f"/tasks/{c.name}" for c in ALL_CONTRACTS} <= set(full["paths"])
    lines = [line for line in audit_lines(process) if line["status"] == 403]
    assert {(line["contract"], line["reason"]) for line in lines} == {
        ("diagnostics.echo", "out of scope (submit)"),
        ("etl.map_keywords", "out of scope (submit)"),
        ("alert.send_alert", "out of scope (submit)"),
        ("diagnostics.crash", "out of scope (submit)"),
        ("diagnostics.echo", "out of scope (read)"),
    }
    read_refusal = next(line for line in lines if line["reason"] == "out of scope (read)")
    assert read_refusal["task_id"] == task_id and read_refusal["key_id"] == crawler_key.split("_")[1]
    accepted = [line for line in audit_lines(process) if line["status"] == 202]
    assert {line["task_id"] for line in accepted} == {task_id, fetch.json()["task_id"]}
    assert all(line["client"] == "127.0.0.1" and line["outcome"] == "accepted" for line in accepted)


def test_a_flood_past_the_rate_limit_gets_429_with_retry_after(servers):
    admin, process = servers.start()
    limited_key = servers.keys.create("limited", submit=["crawler.*"], rate="5/minute")
    with bare(admin, {"Authorization": f"Bearer {limited_key}"}) as limited:
        statuses = []
        for _ in range(12):
            response = limited.get("/contracts")
            statuses.append(response.status_code)
        assert statuses == [200] * 5 + [429] * 7
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert "over its rate of 5/minute" in response.json()["detail"]
    assert admin.get("/contracts").status_code == 200  # other keys keep their own budget
    assert sum(line["reason"] == "rate limit" for line in audit_lines(process)) == 7


def test_in_flight_cap_refuses_until_tasks_finish(servers, start_service):
    admin, _ = servers.start()
    capped_key = servers.keys.create("capped", submit=["diagnostics.echo"], max_in_flight=2)
    with bare(admin, {"Authorization": f"Bearer {capped_key}"}) as capped:
        ids = [capped.post("/tasks/diagnostics.echo", json={"text": f"t{n}"}).json()["task_id"] for n in range(2)]
        over = capped.post("/tasks/diagnostics.echo", json={"text": "third"})
        assert over.status_code == 429
        assert over.headers["retry-after"] == "5"
        assert "has 2 unfinished tasks, its cap" in over.json()["detail"]
        assert admin.post("/tasks/diagnostics.echo", json={"text": "admin"}).status_code == 202  # per key
        start_service([entry_point("consumer-diagnostics")], ["diagnostics.echo"])
        deadline = time.monotonic() + 60
        while not all(capped.get(f"/tasks/{task_id}").json()["ready"] for task_id in ids):
            assert time.monotonic() < deadline, "the echo tasks did not finish"
            time.sleep(0.3)
        assert capped.post("/tasks/diagnostics.echo", json={"text": "after"}).status_code == 202


def test_cancel_needs_the_cancel_scope(servers):
    cancel_key = servers.keys.create("canceller", submit=["crawler.*"], cancel=["crawler.crawl_feed"])
    client, _ = servers.start(key=cancel_key)
    page = client.post("/tasks/crawler.fetch_page", json={"url": "http://example.org/"}).json()["task_id"]
    feed = client.post("/tasks/crawler.crawl_feed", json={"feed_url": "http://example.org/f"}).json()["task_id"]
    refused = client.delete(f"/tasks/{page}")
    assert refused.status_code == 403
    assert refused.json()["detail"].endswith("may not cancel crawler.fetch_page tasks (outside its scopes)")
    with bare(client, {"Authorization": "Bearer nope"}) as stranger:
        assert_bare_401(stranger.delete(f"/tasks/{feed}"))
    cancelled = client.delete(f"/tasks/{feed}")  # queued (no crawler runs here): it will never run
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "REVOKED"
    assert client.get(f"/tasks/{page}").json()["state"] == "PENDING", "the refused cancel changed nothing"


def test_no_log_nor_answer_carries_key_material(servers, tmp_path):
    admin, process = servers.start()
    other = servers.keys.create("other", submit=["crawler.*"], rate="5/minute")
    answers = []
    with bare(admin, {"Authorization": f"Bearer {other}"}) as client:
        answers.append(client.post("/tasks/alert.send_alert", json={}))
        answers.append(client.post("/tasks/crawler.fetch_page", json={"url": "not a url"}))
        for _ in range(4):
            answers.append(client.get("/contracts"))
    for headers in ({"Authorization": f"Bearer {other}x"}, {"Authorization": other}, {}):
        with bare(admin, headers) as client:
            answers.append(client.get("/contracts"))
    answers.append(admin.post("/tasks/crawler.fetch_page", json={"url": "http://example.org/" + "x" * 2_000_000}))
    listing = subprocess.run(
        [entry_point("producer"), "keys", "list", "--file", str(servers.keys.path)],
        capture_output=True,
        text=True,
        check=True,
    )
    logs = process.log_text() + listing.stdout + listing.stderr + servers.keys.path.read_text()
    texts = [logs] + [f"{a.status_code} {dict(a.headers)} {a.text}" for a in answers]
    for key in servers.keys.issued:
        secret = key.split("_", 2)[2]
        for text in texts:
            assert key not in text and secret not in text
    assert {a.status_code for a in answers} >= {200, 401, 403, 413, 422, 429}


def run_producer(*args, env=None):
    return subprocess.run(
        [entry_point("producer"), *args], capture_output=True, text=True, check=False, env=env, timeout=120
    )


def test_keys_cli_creates_lists_and_revokes(tmp_path):
    path = tmp_path / "keys.json"
    created = run_producer("keys", "create", "etl-bot", "--submit", "etl.*", "--rate", "60/minute", "--file", str(path))
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    key_id = key.split("_")[1]
    assert f"created key {key_id} (etl-bot)" in created.stderr and key not in created.stderr
    listed = run_producer("keys", "list", "--file", str(path))
    assert key_id in listed.stdout and "etl.*" in listed.stdout and "60/minute" in listed.stdout
    assert key.split("_", 2)[2] not in listed.stdout and "argon2" not in listed.stdout
    assert run_producer("keys", "revoke", key_id, "--file", str(path)).returncode == 0
    assert json.loads(path.read_text())["keys"][0]["revoked_at"] is not None
    unknown = run_producer("keys", "revoke", "0123456789ab", "--file", str(path))
    assert unknown.returncode == 1 and "no key with id '0123456789ab'" in unknown.stderr
    bad = run_producer("keys", "create", "x", "--rate", "fast", "--file", str(path))
    assert bad.returncode == 1 and "rate must read like" in bad.stderr


def test_serve_refuses_to_start_without_keys(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCER_API_KEYS")}
    missing = run_producer("serve", "--port", "0", env=env)
    assert missing.returncode == 2
    assert "PRODUCER_API_KEYS_FILE" in missing.stderr and "PRODUCER_API_KEYS" in missing.stderr
    env["PRODUCER_API_KEYS_FILE"] = str(tmp_path / "absent.json")
    absent = run_producer("serve", "--port", "0", env=env)
    assert absent.returncode == 2 and "does not exist" in absent.stderr and "producer keys create" in absent.stderr
