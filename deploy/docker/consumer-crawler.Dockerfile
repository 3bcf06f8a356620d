# syntax=docker/dockerfile:1.7
# Image of the worker of the crawler.* queues.
# Build it from the repository root, which holds uv.lock and the celery_tasks contract package:
#   docker build -f deploy/docker/consumer-crawler.Dockerfile -t celery-tasks/consumer-crawler .

# uv and Python pinned by version and by digest (a moved tag cannot change the build).
FROM ghcr.io/astral-sh/uv:0.13.0@sha256:cdc6093146eb3ff6a40107b38f008b789e050e77ad87865e381d9917da55a168 AS uv

FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS build
COPY --from=uv /uv /usr/local/bin/uv
# Ref: https://docs.astral.sh/uv/guides/integration/docker/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON=3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON_PREFERENCE=only-system \
    UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /src
# 1. Third-party dependencies, exactly as locked: this layer changes only with uv.lock.
#    uv reads every workspace member's pyproject.toml to check that the lock is current.
COPY pyproject.toml uv.lock ./
COPY broker_admin/pyproject.toml broker_admin/README.md broker_admin/
COPY task_storage/pyproject.toml task_storage/README.md task_storage/
COPY celery_tasks/pyproject.toml celery_tasks/README.md celery_tasks/
COPY producer/pyproject.toml producer/
COPY consumer_crawler/pyproject.toml consumer_crawler/
COPY consumer_etl/pyproject.toml consumer_etl/
COPY consumer_alert/pyproject.toml consumer_alert/
COPY consumer_diagnostics/pyproject.toml consumer_diagnostics/
# devtools/ is a workspace member for development only: its pyproject.toml is here for the lock
# check, its code is never copied nor installed (--no-dev, no `demo` extra).
COPY devtools/pyproject.toml devtools/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-workspace --package consumer-crawler
# 2. The workspace libraries it uses, the contract package and this service, installed as
#    wheels (not editable): the runtime stage needs /opt/venv only.
COPY broker_admin/ broker_admin/
COPY task_storage/ task_storage/
COPY celery_tasks/ celery_tasks/
COPY consumer_crawler/ consumer_crawler/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --package consumer-crawler

FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS runtime
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home --shell /usr/sbin/nologin app \
    && install -d -o app -g app -m 0750 /var/lib/celery-tasks
COPY --from=build /opt/venv /opt/venv
COPY deploy/docker/healthcheck.py /usr/local/lib/celery-tasks/healthcheck.py
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib
# Relative paths in the settings (SQLite file, charts, schedule) land in this writable folder.
WORKDIR /var/lib/celery-tasks
USER 10001:10001
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
    CMD ["python", "/usr/local/lib/celery-tasks/healthcheck.py", "worker", "--service", "crawler"]
CMD ["consumer-crawler"]
