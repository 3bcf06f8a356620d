"""Sending by name: JSON arguments, validation before anything is sent, contract listing."""

import pytest
from celery_tasks.errors import InvalidArguments, UnknownContract
from celery_tasks.registry import ALL_CONTRACTS

from producer import client


def test_arguments_must_be_a_json_object():
    assert client.parse_json_arguments('{"text": "x"}') == {"text": "x"}
    with pytest.raises(InvalidArguments, match="not valid JSON"):
        client.parse_json_arguments("{text: x}")
    with pytest.raises(InvalidArguments, match="JSON object of named arguments, not list"):
        client.parse_json_arguments("[1, 2]")


def test_validate_names_the_contract_or_suggests_one():
    assert client.validate("diagnostics.echo", {"text": "x"}).name == "diagnostics.echo"
    with pytest.raises(UnknownContract, match="did you mean 'diagnostics.echo'"):
        client.validate("diagnostics.ehco", {"text": "x"})
    with pytest.raises(InvalidArguments, match="number: Input should be a valid integer"):
        client.validate("diagnostics.echo", {"text": "x", "number": "many"})


def test_contract_rows_carry_queue_and_schemas():
    rows = client.contract_rows()
    assert [row["name"] for row in rows] == [c.name for c in ALL_CONTRACTS]
    for row in rows:
        assert row["queue"] == row["name"] and row["dead_letter_queue"] == f"{row['name']}.dlq"
        assert row["args_schema"]["type"] == "object"


def test_describe_fields_is_compact_and_complete():
    rows = {row["name"]: row for row in client.contract_rows()}
    assert client.describe_fields(rows["diagnostics.echo"]["args_schema"]) == "text: string, number: integer = 0"
    sleep = client.describe_fields(rows["diagnostics.sleep"]["args_schema"])
    assert sleep == "seconds: number, marker: string|null = null"
    alert = client.describe_fields(rows["alert.send_alert"]["args_schema"])
    assert "history: list[DailyCount] = ..." in alert
