"""The beat schedule built from settings, and the OpenAPI document built from the contracts (no broker needed)."""

import datetime as dt
import inspect

import pytest
from celery.apps.beat import Beat
from celery.beat import Service
from celery.schedules import crontab
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.settings import load_settings
from producer.api import create_api
from producer.client import producer_app
from producer.errors import ProducerConfigError
from producer.keys import KeysFile, create_key
from producer.schedule import DAILY_ENTRY, DAILY_JOB, build_schedule, configure_beat
from producer.settings import load_producer_settings


def test_a_crawl_entry_per_source_and_one_daily_entry():
    settings = load_producer_settings(
        feeds=["http://a.example/feed.xml"], pages=["http://b.example/p.html"], crawl_every_minutes=15, daily_at="06:30"
    )
    entries = build_schedule(settings)
    feed = entries["crawler.crawl_feed http://a.example/feed.xml"]
    assert feed["task"] == "crawler.crawl_feed"
    assert feed["schedule"] == dt.timedelta(minutes=15)
    assert feed["kwargs"] == {"feed_url": "http://a.example/feed.xml", "source": "a.example/feed.xml"}
    assert feed["options"] == {"ignore_result": True}
    assert entries["crawler.fetch_page http://b.example/p.html"]["kwargs"]["url"] == "http://b.example/p.html"
    daily = entries[DAILY_ENTRY]
    assert daily["task"] == DAILY_JOB
    assert daily["schedule"] == crontab(minute=30, hour=6)


def test_an_invalid_source_fails_when_the_schedule_is_built():
    with pytest.raises(ProducerConfigError, match="cannot schedule 'ftp://a.example/f'"):
        build_schedule(load_producer_settings(feeds=["ftp://a.example/f"]))


def test_configure_beat_sets_time_zone_file_and_bound_scheduler(tmp_path):
    settings = load_producer_settings(timezone="Europe/Paris", schedule_dir=tmp_path, crawl_every_minutes=0.5)
    app = producer_app()
    scheduler = configure_beat(app, settings)
    assert scheduler.producer_settings is settings
    assert app.conf.timezone == "Europe/Paris"
    assert app.conf.beat_schedule_filename == str(tmp_path / "beat-schedule")
    assert app.conf.beat_max_loop_interval == 30


def test_openapi_has_a_route_per_contract_with_its_argument_model():
    keys, _ = create_key(KeysFile(keys=[]), "schema reader", submit=["*"], admin=True)
    api = create_api(load_producer_settings(api_keys=keys.model_dump_json()), load_settings())
    document = api.openapi()  # the whole document, as an admin key sees it
    for contract in ALL_CONTRACTS:
        body = document["paths"][f"/tasks/{contract.name}"]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"]["$ref"].endswith(contract.Args.__name__)
    assert {"/tasks/{task_id}", "/contracts", "/healthz"} <= set(document["paths"])


def test_the_beat_hooks_we_override_are_the_ones_celery_calls():
    # Conformance (listed in celery_tasks.runtime.upstream): ContractBeat replaces the handler
    # Beat.start_scheduler installs, and ContractScheduler.tick ends the loop with SystemExit,
    # which Service.start turns into a clean stop that closes the scheduler.
    assert list(inspect.signature(Beat.install_sync_handler).parameters) == ["self", "service"]
    assert "self.install_sync_handler(service)" in inspect.getsource(Beat.start_scheduler)
    start = inspect.getsource(Service.start)
    assert "self.scheduler.tick()" in start
    assert "except (KeyboardInterrupt, SystemExit):" in start
    assert "self.sync()" in start
