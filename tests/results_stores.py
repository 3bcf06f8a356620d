"""Fixtures of the shared result stores for the system tests: a real Redis and a real PostgreSQL, cleaned up."""

import contextlib
import os
import uuid

import psycopg
import pytest
import redis

#: One Redis database per pytest-xdist worker (gw0 -> 13, gw1 -> 12, ...): a test deletes the keys it created
#: afterwards, which must never include the keys of a test running beside it on another worker.
REDIS_DB = 13 - int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def redis_store():
    """A Redis result store URL; the keys the test creates are deleted afterwards."""
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is needed on 127.0.0.1:6379 (run `make redis`): {exc}")
    before = set(client.scan_iter(count=1000))
    try:
        yield f"redis://127.0.0.1:6379/{REDIS_DB}"
    finally:
        created = [key for key in client.scan_iter(count=1000) if key not in before]
        if created:
            client.delete(*created)
        client.close()


@contextlib.contextmanager
def postgres_store():
    """A PostgreSQL result store URL on a database of its own, dropped afterwards."""
    name = f"ct_results_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as connection:
        connection.execute(f"create database {name}")
    try:
        yield f"db+postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as connection:
            connection.execute(f"drop database if exists {name} with (force)")


STORES = {"redis": redis_store, "postgres": postgres_store}


@pytest.fixture(params=sorted(STORES))
def store_url(request):
    """Each test runs once on Redis and once on PostgreSQL."""
    with STORES[request.param]() as url:
        yield url


@pytest.fixture
def shared_settings(task_settings, store_url):
    """The test's vhost with a shared result store."""
    return task_settings.model_copy(update={"result_backend": store_url, "result_expires": 600.0})
