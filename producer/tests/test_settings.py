"""ProducerSettings: comma lists, schedule time, time zone, and errors that name the variable."""

import datetime as dt

import pytest
from producer.errors import ProducerConfigError
from producer.settings import PIPELINE_QUEUES, load_producer_settings


def test_lists_come_from_comma_separated_variables(monkeypatch):
    monkeypatch.setenv("PRODUCER_FEEDS", " http://a.example/feed.xml, ,http://b.example/atom ")
    monkeypatch.setenv("PRODUCER_RECIPIENTS", "ops@example.com")
    settings = load_producer_settings()
    assert settings.feeds == ["http://a.example/feed.xml", "http://b.example/atom"]
    assert settings.recipients == ["ops@example.com"]
    assert settings.pages == []
    assert settings.health_queues == list(PIPELINE_QUEUES)


def test_daily_time_and_schedule_file(tmp_path):
    settings = load_producer_settings(daily_at="23:05", schedule_dir=tmp_path)
    assert settings.daily_hour_minute == (23, 5)
    assert settings.schedule_file == tmp_path / "beat-schedule"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PRODUCER_DAILY_AT", "25:00", "PRODUCER_DAILY_AT"),
        ("PRODUCER_DAILY_AT", "6am", "HH:MM"),
        ("PRODUCER_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("PRODUCER_CRAWL_EVERY_MINUTES", "0", "PRODUCER_CRAWL_EVERY_MINUTES"),
        ("PRODUCER_API_PORT", "70000", "PRODUCER_API_PORT"),
    ],
)
def test_invalid_values_name_their_variable(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ProducerConfigError, match=message):
        load_producer_settings()


def test_today_follows_the_time_zone():
    utc = load_producer_settings(timezone="UTC").today()
    far_east = load_producer_settings(timezone="Pacific/Kiritimati").today()  # UTC+14
    assert (far_east - utc) in (dt.timedelta(0), dt.timedelta(days=1))
