"""A test contract that counts every validation of its arguments (for the validate-once tests).

Its ``model_validator`` runs on every validation, whoever does it (``parse_arguments``, FastAPI's
body validation, a pydantic ``model_validate``), and appends the input to ``VALIDATIONS``.
Importing this module registers the contract ``tests.counted``; import it only from tests. A test
module that imports ``validations_fixture`` gets the fixture ``validations``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery_tasks.tasks.diagnostics import EchoResult
from pydantic import model_validator

from celery_tasks import Contract, ContractArgs

VALIDATIONS: list[Any] = []


class CountedArgs(ContractArgs):
    """Arguments whose every validation is appended to ``VALIDATIONS``."""

    text: str
    number: int = 0

    @model_validator(mode="before")
    @classmethod
    def count(cls, data: Any) -> Any:
        """Record the input of one validation."""
        VALIDATIONS.append(data)
        return data


class Counted(Contract[CountedArgs, EchoResult]):
    """A contract that counts the validations of its arguments."""

    name = "tests.counted"
    Args = CountedArgs
    Result = EchoResult
    implemented_by = "the tests"


@pytest.fixture(name="validations")
def validations_fixture() -> Iterator[list[Any]]:
    """The validations recorded during one test (emptied before and after it)."""
    VALIDATIONS.clear()
    yield VALIDATIONS
    VALIDATIONS.clear()
