# Every target bootstraps what it needs on a fresh Debian machine with Python 3.11.
SHELL := /bin/bash
VENV := .venv/bin
PACKAGES := broker_admin task_storage celery_tasks producer consumer_crawler consumer_etl consumer_alert consumer_diagnostics devtools

.PHONY: help bootstrap broker broker4 postgres mariadb redis fonts services test unit system lint demo bench clean cluster-test

help:
	@echo "make demo   - run the whole pipeline end to end on local defaults"
	@echo "make test   - every package's tests, the system tests, and the compatibility suite on RabbitMQ 4"
	@echo "make lint   - ruff, mypy --strict, import-linter, contract compatibility"
	@echo "make bench  - side-by-side benchmark against raw AMQP and plain Celery (BROKER=4: on RabbitMQ 4)"
	@echo "make cluster-test - the 3-node RabbitMQ 4 cluster drills (also part of make test)"

bootstrap:
	@scripts/bootstrap.sh

broker:
	@scripts/ensure_rabbitmq.sh

broker4:
	@scripts/ensure_rabbitmq4.sh

postgres:
	@scripts/ensure_postgres.sh

mariadb:
	@scripts/ensure_mariadb.sh

redis:
	@scripts/ensure_redis.sh

fonts:
	@scripts/ensure_fonts.sh

# Everything the tests need, installed and started when missing.
services: bootstrap broker broker4 postgres mariadb redis fonts

unit: services
	@status=0; for p in $(PACKAGES); do \
	  echo "=== $$p"; (cd $$p && ../$(VENV)/pytest -q) || status=1; done; exit $$status

system: services
	@echo "=== system tests"; $(VENV)/pytest -q tests

test: services
	@scripts/run_tests.sh

lint: bootstrap
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .
	$(VENV)/mypy $(foreach p,$(PACKAGES),$(p)/src)
	$(VENV)/lint-imports
	$(VENV)/celery-tasks schema check --require-current

demo: bootstrap broker fonts
	$(VENV)/producer demo

bench: bootstrap broker postgres redis
ifeq ($(BROKER),4)
	@scripts/ensure_rabbitmq4.sh
	BENCH_AMQP_HOST=127.0.0.1:5673 BENCH_MANAGEMENT_URL=http://127.0.0.1:15673 BENCH_BROKER_NODE=rabbit4@localhost \
	  $(VENV)/python benchmarks/bench.py --output benchmarks/results-rabbitmq4.json
else
	$(VENV)/python benchmarks/bench.py
	$(VENV)/python benchmarks/stores_bench.py
endif

cluster-test: bootstrap
	$(VENV)/pytest -q -s tests/test_reliability_cluster.py

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
