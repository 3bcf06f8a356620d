"""Every exception raised by the contract package, under one root class.

Each exception takes a single message string so that it survives Celery's
result serialization: a producer receiving a failure from a worker gets the
same class back, with the same message.
"""

from __future__ import annotations

from typing import Any


class CeleryTasksError(Exception):
    """Root of every error raised by the contract package."""


class ConfigurationError(CeleryTasksError):
    """Raised when a setting is missing or invalid; the message names the setting."""


class ContractError(CeleryTasksError):
    """Base class for errors about a contract's definition or use."""


class ContractDefinitionError(ContractError):
    """Raised when a contract class is declared wrongly (no name, no models)."""


class ContractNotImplemented(ContractError):
    """Raised when a stub contract is run: only its implementing service can run it."""


class UnknownContract(ContractError):
    """Raised when a task name matches no known contract."""


class InvalidArguments(ContractError):
    """Raised when arguments do not match the contract's argument model."""


class InvalidResult(ContractError):
    """Raised when an implementation returns a value that breaks the result model."""


class PayloadTooLarge(ContractError):
    """Raised at the producer when a serialized payload exceeds the configured limit."""


class UnsupportedVersion(ContractError):
    """Raised at the worker when a message's contract version is not supported."""


class DeliveryError(CeleryTasksError):
    """Base class for errors about getting a task to a worker and its result back."""


class NoConsumer(DeliveryError):
    """Raised when a task's queue has had no consumer for longer than allowed."""


class BrokerUnavailable(DeliveryError):
    """Raised when the broker cannot be reached within the configured time."""


class PublishRefused(DeliveryError):
    """Raised at the producer when the broker refuses (nacks) or does not confirm published tasks."""

    #: Positions, in the caller's list, of the calls the broker refused (delay_many).
    refused: tuple[int, ...] = ()
    #: Result handles of the calls the broker accepted (delay_many).
    accepted: tuple[Any, ...] = ()


class MessageRejected(DeliveryError):
    """Raised at the worker for a message that can never be executed (parked with its reason)."""


class ResultStoreUnavailable(DeliveryError):
    """Raised when the result store (Redis or the database) cannot be reached; the message names it, no password."""


class ResultNotReachable(DeliveryError):
    """Raised by get() on rpc:// in a thread that did not send the task: its result goes to the sender only."""


class InvalidProgress(ContractError):
    """Raised in the worker when a task reports progress that does not fit its contract's Progress model."""


class NotCancellable(ContractError):
    """Raised when a task cannot be cancelled: it already finished, or the result store cannot record it."""
