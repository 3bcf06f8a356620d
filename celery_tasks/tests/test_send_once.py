"""Validate once, send once: an argument model instance is sent as it is, never validated again."""

import asyncio
import json
from typing import Any

import pytest
from celery_tasks.errors import InvalidArguments
from celery_tasks_devtools.counted import Counted, CountedArgs, validations_fixture  # noqa: F401 (the fixture)

from celery_tasks import create_app


def test_a_model_instance_is_returned_as_it_is(validations):
    model = CountedArgs(text="x", number=1)
    assert Counted.parse_arguments((model,)) is model
    assert Counted.parse_arguments((model,), {}) is model
    assert len(validations) == 1  # building it
    with pytest.raises(InvalidArguments, match="text: Input should be a valid string"):
        Counted.parse_arguments((model,), {"number": 2})  # with keywords it is a value of the first field


def test_a_constructed_model_is_trusted_as_built(validations):
    # model_construct skips validation: sending such an instance is the caller's responsibility.
    unchecked = CountedArgs.model_construct(text="x", number=3)
    assert Counted.parse_arguments((unchecked,)) is unchecked
    assert validations == []


def sent_kwargs(management, vhost: str) -> list[dict[str, Any]]:
    return [json.loads(message["payload"])[1] for message in management.peek(vhost, Counted.name, 20)]


def test_each_send_validates_exactly_once(task_settings, management, vhost, validations):
    task = create_app([Counted], task_settings).tasks[Counted.name]

    task.delay(text="kwargs", number=1)
    assert len(validations) == 1

    task.delay("positional", 2)
    assert len(validations) == 2

    model = CountedArgs(text="model", number=3)
    assert len(validations) == 3
    task.delay(model)
    task.apply_async(args=(model,), countdown=0)  # a countdown: through Celery, not the direct path
    task.delay_many([model, CountedArgs.model_construct(text="constructed", number=4)])
    assert len(validations) == 3  # the model, built once, was sent four times

    asyncio.run(task.adelay(text="async", number=5))
    assert len(validations) == 4

    sent = sorted(sent_kwargs(management, vhost), key=lambda kwargs: kwargs["number"])
    assert sent == [
        {"text": "kwargs", "number": 1},
        {"text": "positional", "number": 2},
        {"text": "model", "number": 3},
        {"text": "model", "number": 3},
        {"text": "model", "number": 3},
        {"text": "constructed", "number": 4},
        {"text": "async", "number": 5},
    ]
