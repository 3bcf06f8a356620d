"""The console entry point: it checks its settings and creates the tables before any worker starts."""

import os
import subprocess

import pytest
from celery_tasks_devtools.testing import entry_point
from consumer_alert.main import prepare
from sqlalchemy import create_engine, inspect


def run_entry_point(env, tmp_path):
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("ALERT_", "CELERY_TASKS_"))}
    return subprocess.run(
        [entry_point("consumer-alert")],
        check=False,
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_bad_setting_stops_the_service_with_its_name(tmp_path):
    database = tmp_path / "alerts.db"
    done = run_entry_point(
        {"ALERT_SMTP_SECURITY": "ssl", "CELERY_TASKS_DATABASE_URL": f"sqlite:///{database}"}, tmp_path
    )
    assert done.returncode == 1
    assert "consumer-alert: invalid alert configuration: ALERT_SMTP_SECURITY" in done.stderr
    assert not database.exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ALERT_MAIL_FROM", "Alerts <alerts@example.com>"),
        ("ALERT_DEFAULT_RECIPIENTS", "ops@example.com, not-an-address"),
    ],
)
def test_an_unsafe_address_stops_the_service(tmp_path, variable, value):
    done = run_entry_point({variable: value}, tmp_path)
    assert done.returncode == 1
    assert "is not one plain address" in done.stderr


def test_prepare_creates_the_shared_tables(tmp_path, monkeypatch):
    database = tmp_path / "alerts.db"
    monkeypatch.setenv("CELERY_TASKS_DATABASE_URL", f"sqlite:///{database}")
    prepare()
    assert "sent_alerts" in inspect(create_engine(f"sqlite:///{database}")).get_table_names()
