"""Contract versions on the wire: compatible changes flow, breaking ones are parked with both versions named."""

import pytest
from pydantic import Field

from celery_tasks import create_app
from celery_tasks.errors import UnsupportedVersion
from celery_tasks.tasks import diagnostics
from celery_tasks.testing import entry_point, wait_for_parked


class EchoCompatibleArgs(diagnostics.EchoArgs):
    colour: str = Field("red", description="Added with a default: a compatible change.")


class EchoCompatible(diagnostics.Echo):
    """What a newer producer has after a compatible change (same version)."""

    Args = EchoCompatibleArgs


class EchoBreakingArgs(diagnostics.EchoArgs):
    language: str = Field(description="Added as required: a breaking change.")


class EchoV2(diagnostics.Echo):
    """What a newer producer has after a breaking change (version bumped)."""

    version = 2
    Args = EchoBreakingArgs


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
