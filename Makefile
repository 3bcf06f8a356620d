# Every target bootstraps what it needs on a fresh Debian machine with Python 3.11.
SHELL := /bin/bash
VENV := .venv/bin
PACKAGES := celery_tasks producer consumer_crawler consumer_etl consumer_alert consumer_diagnostics

.PHONY: help bootstrap broker postgres redis test unit system lint demo bench clean

help:
	@echo "make demo   - run the whole pipeline end to end on local defaults"
	@echo "make test   - every package's tests, then the system tests (real RabbitMQ)"
	@echo "make lint   - ruff, mypy --strict, import-linter, contract compatibility"
	@echo "make bench  - side-by-side benchmark against raw AMQP and plain Celery"

bootstrap:
	@scripts/bootstrap.sh

broker:
	@scripts/ensure_rabbitmq.sh

postgres:
	@scripts/ensure_postgres.sh

redis:
	@scripts/ensure_redis.sh

unit: bootstrap broker postgres redis
	@for p in $(PACKAGES); do \
	  echo "=== $$p"; (cd $$p && ../$(VENV)/pytest -q) || exit $$?; done

system: bootstrap broker postgres redis
	@echo "=== system tests"; $(VENV)/pytest -q tests

test: unit system

lint: bootstrap
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy $(foreach p,$(PACKAGES),$(p)/src)
	$(VENV)/lint-imports
	$(VENV)/celery-tasks schema check --require-current

demo: bootstrap broker
	$(VENV)/producer demo

bench: bootstrap broker postgres redis
	$(VENV)/python benchmarks/bench.py
	$(VENV)/python benchmarks/stores_bench.py

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
