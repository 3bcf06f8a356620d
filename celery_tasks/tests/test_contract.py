import pytest
from celery_tasks.errors import (
    ContractDefinitionError,
    ContractNotImplemented,
    InvalidArguments,
    InvalidResult,
    PayloadTooLarge,
    UnknownContract,
)
from celery_tasks.registry import ALL_CONTRACTS, get_contract
from celery_tasks.tasks.crawler import FetchPage
from celery_tasks.tasks.diagnostics import Echo, EchoResult
from pydantic import Field

from celery_tasks import Contract, ContractArgs, ContractResult, create_app, create_worker_from, load_settings


class AddArgs(ContractArgs):
    a: int
    b: int = Field(ge=0)
    c: int = 0


class AddResult(ContractResult):
    total: int


class Add(Contract[AddArgs, AddResult]):
    name = "tests.add"
    Args = AddArgs
    Result = AddResult
    implemented_by = "the tests"


def offline_app(contracts, **overrides):
    settings = load_settings(broker_url="amqp://guest:guest@127.0.0.1:1//", **overrides)
    return create_app(contracts, settings)


def test_positional_and_keyword_arguments_bind_in_field_order():
    assert Add.parse_arguments((1, 2, 3)) == AddArgs(a=1, b=2, c=3)
    assert Add.parse_arguments((1,), {"b": 2}) == AddArgs(a=1, b=2)


def test_every_bad_field_is_listed():
    with pytest.raises(InvalidArguments) as caught:
        Add.parse_arguments((), {"a": "x", "b": -1, "d": 4})
    message = str(caught.value)
    assert "a: Input should be a valid integer" in message
    assert "b: Input should be greater than or equal to 0" in message
    assert "d: Extra inputs are not permitted" in message


def test_too_many_positionals_and_duplicates_are_refused():
    with pytest.raises(InvalidArguments, match="at most 3 positional"):
        Add.parse_arguments((1, 2, 3, 4))
    with pytest.raises(InvalidArguments, match="a given both by position and by name"):
        Add.parse_arguments((1,), {"a": 2, "b": 1})


def test_lenient_parsing_drops_unknown_fields_for_older_workers():
    assert Add.parse_arguments((), {"a": 1, "b": 1, "new_optional": True}, lenient=True) == AddArgs(a=1, b=1)


def test_invalid_arguments_are_refused_before_anything_is_sent():
    # The broker URL points at a closed port: reaching the network would raise something else.
    app = offline_app([Add])
    with pytest.raises(InvalidArguments):
        app.tasks["tests.add"].delay("one", 2)


def test_oversized_payload_is_refused_at_the_producer():
    app = offline_app([Echo], max_payload_bytes=1000)
    with pytest.raises(PayloadTooLarge, match="over the limit of 1000 bytes"):
        app.tasks["diagnostics.echo"].delay("x" * 2000)


def test_stub_run_says_it_is_a_contract_and_who_implements_it():
    _, task = create_worker_from(FetchPage, load_settings())
    with pytest.raises(ContractNotImplemented, match="consumer-crawler"):
        task.run(url="http://example.com")


def test_create_worker_from_uses_the_task_name_as_default_queue():
    app, task = create_worker_from(Echo, load_settings())
    assert app.conf.task_default_queue == "diagnostics.echo"
    assert task.name == "diagnostics.echo"
    queue = app.amqp.queues["diagnostics.echo"]
    assert queue.queue_arguments["x-queue-type"] == "quorum"
    assert queue.queue_arguments["x-dead-letter-routing-key"] == "diagnostics.echo.dlq"


def test_two_apps_in_one_process_stay_independent():
    first = offline_app([Echo], max_payload_bytes=500)
    second = offline_app([Echo], max_payload_bytes=5000)
    assert first.tasks["diagnostics.echo"].app is first
    assert second.tasks["diagnostics.echo"].app is second


def test_implementation_receives_the_model_and_its_result_is_checked():
    class GoodAdd(Add):
        def run(self, args: AddArgs) -> AddResult:
            return AddResult(total=args.a + args.b + args.c)

    class BadAdd(Add):
        def run(self, args: AddArgs) -> AddResult:
            return {"sum": 3}  # type: ignore[return-value]

    assert GoodAdd().run(a=1, b=2) == {"total": 3}
    with pytest.raises(InvalidResult, match="total: Field required"):
        BadAdd().run(a=1, b=2)
    with pytest.raises(InvalidArguments):
        GoodAdd().run(a="nope", b=2)


def test_wrong_definitions_fail_at_import():
    with pytest.raises(ContractDefinitionError, match="dotted lowercase"):
        type("Bad", (Contract,), {"name": "NoDots", "Args": AddArgs, "Result": AddResult})
    with pytest.raises(ContractDefinitionError, match="needs Result"):
        type("Bad", (Contract,), {"name": "tests.bad", "Args": AddArgs})


def test_unknown_names_are_refused_with_suggestions():
    with pytest.raises(UnknownContract, match="did you mean 'crawler.fetch_page'"):
        get_contract("crawler.fetch_pag")


def test_names_unique_and_headers_carry_the_version():
    assert len({contract.name for contract in ALL_CONTRACTS}) == len(ALL_CONTRACTS)
    headers = Echo.contract_headers()
    assert headers["x-contract"] == "diagnostics.echo"
    assert headers["x-contract-version"] == 1
    assert len(headers["x-contract-fingerprint"]) == 16


def test_result_parsing_returns_the_model():
    assert Echo.parse_result({"text": "a", "number": 1, "worker": "w", "extra": 1}) == EchoResult(
        text="a", number=1, worker="w"
    )
