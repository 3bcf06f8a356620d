"""Typed task contracts on Celery and RabbitMQ: one queue per task, validated on both ends."""

from celery_tasks.app import ContractApp
from celery_tasks.contract import Contract
from celery_tasks.factory import create_app, create_worker_from
from celery_tasks.models import ContractArgs, ContractResult
from celery_tasks.results import TypedAsyncResult
from celery_tasks.settings import TaskSettings, load_settings

__all__ = (
    "Contract",
    "ContractApp",
    "ContractArgs",
    "ContractResult",
    "TaskSettings",
    "TypedAsyncResult",
    "create_app",
    "create_worker_from",
    "load_settings",
)
