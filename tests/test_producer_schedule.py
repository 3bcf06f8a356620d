"""`producer schedule` (Celery beat): due crawl entries are published through the contracts; the daily run alerts."""

import datetime as dt
import hashlib
import json
import sys

import pytest
from celery_tasks.tasks.crawler import CrawlFeed, FetchPage
from celery_tasks_devtools.broker import queue_depth
from celery_tasks_devtools.mail import MailCatcher, png_attachments
from celery_tasks_devtools.site import generate, write_keywords_file
from celery_tasks_devtools.testing import ServiceProcess, entry_point, settings_env, wait_for_parked
from producer.client import producer_app
from producer.schedule import DAILY_ENTRY, configure_beat
from producer.settings import load_producer_settings
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from task_storage import Document, SentAlert, create_schema, make_engine, session_scope

FEED = "http://127.0.0.1:9/news/feed.xml"
PAGE = "http://127.0.0.1:9/about.html"


def test_beat_publishes_due_crawl_entries_through_the_contracts(task_settings, management, vhost, tmp_path):
    schedule_dir = tmp_path / "beat"
    env = {
        **settings_env(task_settings),
        "PRODUCER_FEEDS": FEED,
        "PRODUCER_PAGES": PAGE,
        "PRODUCER_CRAWL_EVERY_MINUTES": "0.02",  # every 1.2 s
        "PRODUCER_SCHEDULE_DIR": str(schedule_dir),
    }
    beat = ServiceProcess([entry_point("producer"), "schedule"], env, tmp_path / "beat.log")
    try:
        feeds = wait_for_parked(management, vhost, CrawlFeed.name, 2, timeout=60)
        pages = wait_for_parked(management, vhost, FetchPage.name, 1, timeout=60)
    finally:
        code = beat.stop()
    log = beat.log_path.read_text()
    assert code == 0, log
    for contract, headers in ((CrawlFeed, feeds), (FetchPage, pages)):
        for header in headers:
            assert header["x-contract"] == contract.name
            assert header["x-contract-version"] == contract.version
            assert header["x-contract-fingerprint"] == contract.fingerprint
            assert header["celery_beat_task"] is True
            assert header["ignore_result"] is True
    bodies = [json.loads(m["payload"]) for m in management.peek(vhost, CrawlFeed.name)]
    for args, kwargs, _ in bodies:
        assert args == []
        assert CrawlFeed.parse_arguments(kwargs=kwargs).feed_url.unicode_string() == FEED
        assert kwargs["source"] == "127.0.0.1/news/feed.xml"
    assert len({h["id"] for h in feeds}) == len(feeds)  # a new message each time, not a redelivery
    assert list(schedule_dir.glob("beat-schedule*")), "the schedule file is kept in PRODUCER_SCHEDULE_DIR"
    assert "Sending due task crawler.crawl_feed" in log


# `producer schedule`, with a SIGTERM delivered from inside the first publish (a test-only hook).
SIGTERM_INSIDE_A_PUBLISH = """
import os, signal, sys
from celery.signals import before_task_publish
from producer.main import main

fired = []

def terminate_once(**_):
    if not fired:
        fired.append(True)
        os.kill(os.getpid(), signal.SIGTERM)  # the handler runs here, in the middle of the send

before_task_publish.connect(terminate_once, weak=False)
sys.argv = ["producer", "schedule"]
main()
"""


def test_beat_stopped_in_the_middle_of_a_publish_finishes_the_tick_then_exits(task_settings, tmp_path):
    # Celery's handler closed the broker connection inside the signal handler; when the signal
    # interrupted a frame write, it waited forever on py-amqp's frame lock (beat was SIGKILLed).
    env = {
        **settings_env(task_settings),
        "PRODUCER_FEEDS": FEED,
        "PRODUCER_PAGES": PAGE,
        "PRODUCER_CRAWL_EVERY_MINUTES": "0.02",
        "PRODUCER_SCHEDULE_DIR": str(tmp_path / "beat"),
    }
    beat = ServiceProcess([sys.executable, "-c", SIGTERM_INSIDE_A_PUBLISH], env, tmp_path / "beat.log")
    try:
        code = beat.process.wait(timeout=60)
    finally:
        beat.stop(timeout=5)
    log = beat.log_path.read_text()
    assert code == 0, log
    # The send in progress (a tick sends one due entry) completed, and no later tick ran.
    assert log.count("Sending due task") == 1, log
    app = producer_app(task_settings)
    try:
        for contract in (CrawlFeed, FetchPage):
            app.declare_topology_once(contract.name)  # the entry not sent has no queue yet
        depths = {contract.name: queue_depth(app, contract.name) for contract in (CrawlFeed, FetchPage)}
    finally:
        app.close()
    (sent,) = (name for name in depths if f"Sending due task {name}" in log)
    assert depths[sent] == 1, depths
    assert sum(depths.values()) == 1, depths
    assert list((tmp_path / "beat").glob("beat-schedule*")), "the schedule was saved on the way out"


def test_beat_refuses_an_invalid_source_at_start(task_settings, tmp_path):
    env = {
        **settings_env(task_settings),
        "PRODUCER_FEEDS": "ftp://example.org/feed",
        "PRODUCER_SCHEDULE_DIR": str(tmp_path),
    }
    beat = ServiceProcess([entry_point("producer"), "schedule"], env, tmp_path / "beat.log")
    beat.process.wait(timeout=60)
    assert beat.stop() != 0
    assert "cannot schedule 'ftp://example.org/feed'" in beat.log_path.read_text()


@pytest.fixture
def seeded_database(tmp_path):
    """A database holding the generated site's articles as crawled documents."""
    today = dt.datetime.now(dt.UTC).date()
    url = f"sqlite:///{tmp_path / 'daily.db'}"
    engine = make_engine(url)
    create_schema(engine)
    site = generate(today, days=20)
    now = dt.datetime.now(dt.UTC)
    with session_scope(sessionmaker(engine)) as session:
        for article in site.articles:
            text = "\n".join(article.paragraphs)
            session.add(
                Document(
                    url=f"http://demo.test{article.path}",
                    source="demo",
                    kind="article",
                    status=200,
                    title=article.title,
                    text=text,
                    content_hash=hashlib.sha256(text.encode()).hexdigest(),
                    links=0,
                    day=article.published.date(),
                    fetched_at=now,
                )
            )
    yield url, engine, today
    engine.dispose()


def test_the_daily_entry_maps_judges_and_alerts_through_real_consumers(
    start_service, task_settings, seeded_database, tmp_path
):
    url, engine, today = seeded_database
    mail = MailCatcher(tmp_path / "mail").start()
    try:
        env = {
            "CELERY_TASKS_DATABASE_URL": url,
            "ETL_KEYWORDS_FILE": str(write_keywords_file(tmp_path / "keywords.json")),
            "ALERT_SMTP_HOST": "127.0.0.1",
            "ALERT_SMTP_PORT": str(mail.port),
            "ALERT_DEFAULT_RECIPIENTS": "team@example.com",
            "ALERT_CHART_DIR": str(tmp_path / "charts"),
        }
        start_service(
            [entry_point("consumer-etl"), "--concurrency=2"], ["etl.map_keywords", "etl.find_thresholds"], env=env
        )
        start_service([entry_point("consumer-alert"), "--concurrency=1"], ["alert.send_alert"], env=env)
        settings = load_producer_settings(
            days=14, timezone="UTC", daily_at="06:00", schedule_dir=tmp_path / "beat", feeds=[FEED]
        )
        settings.schedule_dir.mkdir()
        app = producer_app(task_settings)
        scheduler_class = configure_beat(app, settings)
        scheduler = scheduler_class(app=app, schedule_filename=str(settings.schedule_file), lazy=False)
        try:
            entry = scheduler.schedule[DAILY_ENTRY]
            assert entry.schedule.hour == {6} and entry.schedule.minute == {0}
            scheduler.apply_entry(entry, producer=scheduler.producer)
            scheduler.daily.thread.join(timeout=300)
            assert not scheduler.daily.thread.is_alive()
        finally:
            scheduler.close()
            app.close()
        assert len(mail.files) == 2
        assert all(png_attachments(path) for path in mail.files.values())
        with engine.connect() as connection:
            sent = connection.execute(select(SentAlert.keyword, SentAlert.day, SentAlert.state)).all()
        assert sorted(sent) == [("kubernetes", today, "sent"), ("rabbitmq", today, "sent")]
    finally:
        mail.stop()
