"""Contract versions on the wire: compatible changes flow, breaking ones are parked with both versions named."""

import importlib.util
import sys
import time
from pathlib import Path

import pytest
from celery_tasks.errors import UnsupportedVersion
from celery_tasks.tasks import diagnostics
from celery_tasks_devtools.testing import entry_point, queue_depth, wait_for_parked
from producer.dead_letters import replay

from celery_tasks import create_app

VERSIONED = Path(__file__).with_name("versioned_echo.py")
spec = importlib.util.spec_from_file_location("versioned_echo", VERSIONED)
versioned = importlib.util.module_from_spec(spec)
spec.loader.exec_module(versioned)
EchoCompatible, EchoV2 = versioned.EchoCompatible, versioned.EchoV2


@pytest.fixture
def old_consumer(start_service):
    return start_service([entry_point("consumer-diagnostics"), "--concurrency=1"], ["diagnostics.echo"])


def test_headers_carry_name_version_and_fingerprint():
    assert EchoV2.contract_headers()["x-contract-version"] == 2
    assert EchoCompatible.fingerprint != diagnostics.Echo.fingerprint
    assert EchoCompatible.version == diagnostics.Echo.version


def test_compatible_change_flows_to_an_old_consumer(old_consumer, task_settings):
    app = create_app([EchoCompatible], task_settings)
    result = app.tasks["diagnostics.echo"].delay("hi", colour="blue").get(timeout=30)
    assert result.text == "hi"


def test_newer_version_is_parked_naming_both_versions(old_consumer, task_settings, management, vhost):
    app = create_app([EchoV2], task_settings)
    result = app.tasks["diagnostics.echo"].delay("hi", language="en")
    with pytest.raises(UnsupportedVersion, match="version 2.*runs version 1"):
        result.get(timeout=30)
    parked = wait_for_parked(management, vhost, "diagnostics.echo.dlq", 1)
    assert parked[0]["x-error-type"] == "UnsupportedVersion"
    assert parked[0]["x-contract-version"] == 2
    assert parked[0]["x-worker-contract-version"] == 1
    assert "replay" in parked[0]["x-reason"]


@pytest.mark.broker_compat
def test_rolling_upgrade_parks_breaking_messages_then_replays_them(
    start_service, task_settings, management, vhost, tmp_path
):
    old = start_service([entry_point("consumer-diagnostics"), "--concurrency=1"], ["diagnostics.echo"])
    compatible = create_app([EchoCompatible], task_settings).tasks["diagnostics.echo"]
    assert [compatible.delay(f"c{n}", colour="green").get(timeout=30).text for n in range(3)] == ["c0", "c1", "c2"]

    newer = create_app([EchoV2], task_settings).tasks["diagnostics.echo"]
    sent = [newer.delay(f"m{n}", n, language="fr") for n in range(5)]
    for result in sent:
        with pytest.raises(UnsupportedVersion):
            result.get(timeout=30)
    parked = wait_for_parked(management, vhost, "diagnostics.echo.dlq", len(sent))
    assert {h["id"] for h in parked} == {r.id for r in sent}

    # Upgrade: the old consumer goes, a consumer of version 2 comes, the parked messages are replayed.
    old.stop()
    ledger = tmp_path / "ledger.txt"
    start_service([sys.executable, str(VERSIONED)], ["diagnostics.echo"], env={"ECHO_V2_LEDGER": str(ledger)})
    report = replay(task_settings, "diagnostics.echo", contract=EchoV2, journal_dir=tmp_path / "journal")
    assert sorted(report.moved) == sorted(r.id for r in sent)
    assert report.refused == []

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_lines(ledger)) < len(sent):
        time.sleep(0.2)
    assert sorted(_lines(ledger)) == sorted(r.id for r in sent)  # each ran once: nothing lost, none twice
    app = create_app([EchoV2], task_settings)
    assert queue_depth(app, "diagnostics.echo.dlq") == 0
    assert queue_depth(app, "diagnostics.echo") == 0


def _lines(path):
    return path.read_text().split() if path.exists() else []
