"""The side-effect ledger behind diagnostics.record: every run logged, each effect stored once."""

import multiprocessing
import sqlite3
import threading

import pytest
from celery_tasks.tasks import diagnostics
from consumer_diagnostics.errors import LedgerNotConfigured
from consumer_diagnostics.ledger import Ledger
from consumer_diagnostics.tasks import CONTRACTS

from celery_tasks import create_app


def test_effect_is_stored_once_per_key_across_ledger_instances(tmp_path):
    path = tmp_path / "ledger.sqlite"
    first, second = Ledger(path), Ledger(path)
    assert first.run("k", "t1", "start") == 1
    assert second.run("k", "t2", "start", redelivered=True) == 2
    assert first.effect("k", "t1") is True
    assert second.effect("k", "t2") is False
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT key, task_id FROM effects").fetchall() == [("k", "t1")]
        assert connection.execute("SELECT SUM(redelivered) FROM runs").fetchone() == (1,)


def test_concurrent_writers_store_one_effect(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger(path)
    winners = []

    def claim(n):
        if Ledger(path).effect("shared", f"t{n}"):
            winners.append(n)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a worker thread did not finish within 60 s"
    assert len(winners) == 1


@pytest.fixture
def app(base_settings):
    return create_app(CONTRACTS, base_settings.model_copy(update={"soft_time_limit": None, "time_limit": None}))


def test_record_runs_eagerly_and_reports_first_and_runs(app, tmp_path, monkeypatch):
    monkeypatch.setenv("DIAGNOSTICS_LEDGER_PATH", str(tmp_path / "ledger.sqlite"))
    record = app.tasks[diagnostics.Record.name]
    first = record.apply(kwargs={"key": "a"}).get()
    again = record.apply(kwargs={"key": "a"}).get()
    assert (first["first"], first["runs"]) == (True, 1)
    assert (again["first"], again["runs"]) == (False, 2)


def test_record_without_a_ledger_path_fails_clearly(app, monkeypatch):
    monkeypatch.delenv("DIAGNOSTICS_LEDGER_PATH", raising=False)
    result = app.tasks[diagnostics.Record.name].apply(kwargs={"key": "a"})
    with pytest.raises(LedgerNotConfigured, match="DIAGNOSTICS_LEDGER_PATH"):
        result.get()


def test_many_processes_opening_a_new_ledger_together_all_succeed(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with multiprocessing.get_context("fork").Pool(8) as pool:
        stored = pool.starmap(_open_and_store, [(path, f"key-{n}") for n in range(32)])
    assert all(stored)
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM effects").fetchone() == (32,)


def _open_and_store(path, key):
    ledger = Ledger(path)
    ledger.run(key, None, "start")
    return ledger.effect(key, None)
