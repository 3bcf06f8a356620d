"""The `producer` command line run as a subprocess against real consumer processes on a private vhost."""

import datetime as dt
import json
import os
import subprocess

import pytest
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.tasks.crawler import FetchPage
from celery_tasks_devtools.mail import MailCatcher, png_attachments
from celery_tasks_devtools.site import SiteServer, generate, write_keywords_file
from celery_tasks_devtools.testing import entry_point, peek_headers, settings_env

DIAGNOSTIC_QUEUES = ["diagnostics.echo", "diagnostics.sleep", "diagnostics.crash"]


@pytest.fixture
def producer(task_settings, tmp_path):
    """Run `producer ...` against the test's vhost; returns the CompletedProcess."""

    def run(*args, env=None, timeout=120):
        environment = {
            **os.environ,
            **settings_env(task_settings),
            "PRODUCER_SCHEDULE_DIR": str(tmp_path / "schedule"),
            **(env or {}),
        }
        return subprocess.run(
            [entry_point("producer"), *args],
            check=False,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def diagnostics_worker(start_service):
    return start_service([entry_point("consumer-diagnostics"), "--concurrency=2"], DIAGNOSTIC_QUEUES)


def test_contracts_lists_every_contract_with_its_schema(producer):
    listed = producer("contracts", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [row["name"] for row in rows] == [contract.name for contract in ALL_CONTRACTS]
    echo = next(row for row in rows if row["name"] == "diagnostics.echo")
    assert echo["queue"] == "diagnostics.echo" and echo["version"] == 1
    assert echo["args_schema"]["required"] == ["text"]
    table = producer("contracts")
    assert table.returncode == 0
    for contract in ALL_CONTRACTS:
        assert contract.name in table.stdout
    assert "text: string" in table.stdout


def test_unknown_name_is_refused_with_a_suggestion_and_nothing_is_sent(producer, management, vhost):
    result = producer("submit", "diagnostics.ecko", "--args", '{"text": "x"}')
    assert result.returncode == 2
    assert "unknown task name 'diagnostics.ecko'" in result.stderr
    assert "did you mean 'diagnostics.echo'" in result.stderr
    assert "nothing was sent" in result.stderr
    assert management.queues(vhost) == []


def test_invalid_arguments_are_listed_exit_2_and_nothing_is_sent(producer, management, vhost):
    result = producer("submit", "diagnostics.echo", "--args", '{"text": 5, "colour": "red"}')
    assert result.returncode == 2
    assert "invalid arguments for diagnostics.echo" in result.stderr
    assert "text: Input should be a valid string (got 5)" in result.stderr
    assert "colour: Extra inputs are not permitted" in result.stderr
    not_json = producer("submit", "diagnostics.echo", "--args", "{text: 5}")
    assert not_json.returncode == 2 and "not valid JSON" in not_json.stderr
    assert management.queues(vhost) == []


def test_submit_wait_prints_the_typed_result(producer, diagnostics_worker):
    result = producer("submit", "diagnostics.echo", "--args", '{"text": "from the cli", "number": 3}', "--wait")
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)
    assert value["text"] == "from the cli" and value["number"] == 3 and value["worker"]


def test_submit_without_wait_prints_the_id_of_the_queued_message(producer, management, vhost):
    result = producer("submit", FetchPage.name, "--args", '{"url": "https://example.org/a"}')
    assert result.returncode == 0, result.stderr
    task_id = result.stdout.strip()
    headers = peek_headers(management, vhost, FetchPage.name)
    assert [(h["id"], h["x-contract"], h["x-contract-version"]) for h in headers] == [(task_id, FetchPage.name, 1)]


def test_submit_wait_reports_the_workers_error(producer, diagnostics_worker):
    result = producer("submit", "diagnostics.crash", "--args", '{"message": "boom from the cli"}', "--wait")
    assert result.returncode == 1
    assert "RequestedFailure: boom from the cli" in result.stderr


def test_submit_wait_on_a_queue_without_consumer_fails_clearly(producer):
    result = producer(
        "submit",
        FetchPage.name,
        "--args",
        '{"url": "https://example.org/b"}',
        "--wait",
        env={"CELERY_TASKS_NO_CONSUMER_TIMEOUT": "2"},
    )
    assert result.returncode == 1
    assert "has had no consumer" in result.stderr
    assert "consumer-crawler" in result.stderr


@pytest.fixture
def pipeline_services(start_service, tmp_path):
    """The demo site, a mail catcher and the three pipeline consumers, each its own process."""
    today = dt.datetime.now(dt.UTC).date()
    site = SiteServer(generate(today, days=20)).start()
    mail = MailCatcher(tmp_path / "mail").start()
    env = {
        "CELERY_TASKS_DATABASE_URL": f"sqlite:///{tmp_path / 'pipeline.db'}",
        "CRAWLER_ALLOW_LOOPBACK": "true",
        "CRAWLER_POLITENESS_DELAY": "0",
        "CRAWLER_RETRIES": "0",
        "ETL_KEYWORDS_FILE": str(write_keywords_file(tmp_path / "keywords.json")),
        "ALERT_SMTP_HOST": "127.0.0.1",
        "ALERT_SMTP_PORT": str(mail.port),
        "ALERT_SMTP_SECURITY": "none",
        "ALERT_DEFAULT_RECIPIENTS": "team@example.com",
        "ALERT_CHART_DIR": str(tmp_path / "charts"),
    }
    start_service([entry_point("consumer-crawler")], ["crawler.crawl_feed", "crawler.fetch_page"], env=env)
    start_service(
        [entry_point("consumer-etl"), "--concurrency=2"], ["etl.map_keywords", "etl.find_thresholds"], env=env
    )
    start_service([entry_point("consumer-alert"), "--concurrency=1"], ["alert.send_alert"], env=env)
    yield site, mail, today
    mail.stop()
    site.stop()


def test_pipeline_run_reports_a_failed_item_and_finishes_the_rest(producer, pipeline_services, tmp_path):
    site, mail, today = pipeline_services
    missing = f"{site.base_url}/feeds/missing.rss"
    result = producer(
        "pipeline",
        "run",
        *[arg for url in [*site.feed_urls, missing] for arg in ("--feed", url)],
        "--page",
        f"{site.base_url}/about.html",
        "--days",
        "14",
        env={"PRODUCER_TIMEZONE": "UTC"},
        timeout=300,
    )
    out = result.stdout
    assert result.returncode == 1, out + result.stderr  # one item failed
    # Plain lines (not a terminal): every stage and item, the failure among them.
    assert "crawl: 4 items" in out
    assert f"FAILED {missing}:" in out
    assert out.count("crawl [") == 4 and "crawl: 3 ok, 1 failed" in out
    assert "map keywords: 14 ok, 0 failed" in out
    assert f"thresholds [1/1] ok {today.isoformat()}" in out
    assert "crossed: kubernetes, rabbitmq" in out
    assert "alerts: 2 ok, 0 failed" in out
    # The summary tables.
    assert f"Pipeline for {today.isoformat()}" in out and "Failed items" in out and "Alerts" in out
    # The alerts really went out, each carrying its chart.
    assert len(mail.files) == 2
    for path in mail.files.values():
        assert png_attachments(path)
    assert len(list((tmp_path / "charts").glob("*.png"))) == 2
