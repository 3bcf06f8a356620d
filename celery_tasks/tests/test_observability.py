"""Tracing switches and JSON log lines, without a broker (the system tests run real processes)."""

import json
import logging
import os
import subprocess
import sys

import pytest
from celery_tasks.errors import ConfigurationError
from celery_tasks.runtime import logs, tracing
from celery_tasks.runtime.worker import worker_argv
from celery_tasks.settings import TaskSettings


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, False),
    ],
)
def test_the_standard_otel_variables_switch_tracing(environ, expected):
    assert tracing.requested(environ) is expected


def test_with_tracing_off_nothing_of_opentelemetry_is_imported():
    code = (
        "import sys; import celery_tasks, celery_tasks.runtime.worker, celery_tasks.runtime.parking; "
        "import celery_tasks.runtime.logs; "
        "from celery_tasks.runtime import tracing; assert tracing.setup('x') is False; "
        "assert tracing.current_ids() is None; "
        "loaded = sorted(m for m in sys.modules if m.startswith('opentelemetry')); print(loaded); assert not loaded"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.parametrize("exporter", ["zipkin", "otlp"])
def test_unsupported_exporters_and_protocols_are_clear_errors(monkeypatch, exporter):
    from celery_tasks.runtime import tracing_sdk  # noqa: PLC0415 - imports OpenTelemetry: only in this test

    monkeypatch.setenv("OTEL_TRACES_EXPORTER", exporter)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    with pytest.raises(ConfigurationError, match="zipkin" if exporter == "zipkin" else "http/protobuf"):
        tracing_sdk._exporter_factories()


def test_a_json_line_has_the_fields_and_no_password():
    record = logging.LogRecord(
        "celery.worker", logging.WARNING, __file__, 1, "lost %s", ("amqp://bob:s3cret@broker:5672/v",), None
    )
    line = logs.JsonFormatter("etl").format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert {key: entry[key] for key in ("level", "service", "logger")} == {
        "level": "WARNING",
        "service": "etl",
        "logger": "celery.worker",
    }
    assert entry["message"] == "lost amqp://bob:***@broker:5672/v"
    assert entry["time"].endswith("+00:00")
    assert "task_id" not in entry and "trace_id" not in entry


def test_celerys_per_task_lines_carry_the_task_id():
    record = logging.LogRecord("celery.app.trace", logging.INFO, __file__, 1, "Task received", (), None)
    record.data = {"id": "abc", "name": "diagnostics.echo"}
    entry = json.loads(logs.JsonFormatter("x").format(record))
    assert (entry["task_id"], entry["contract"]) == ("abc", "diagnostics.echo")


def test_a_json_worker_leaves_out_the_printed_banner():
    assert worker_argv("etl", TaskSettings(log_format="json"))[:2] == ["--quiet", "worker"]
    assert worker_argv("etl", TaskSettings())[0] == "worker"
    with pytest.raises(ValueError, match="log_format"):
        TaskSettings(log_format="xml")
