"""Plain Celery with its defaults and the rpc:// result backend: the baseline the project is compared with.

Started as ``celery -A plain_celery worker --pool=prefork`` from this folder, with the
broker URL in ``BENCH_BROKER_URL``.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

app = Celery(
    "plain", broker=os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"), backend="rpc://"
)


@app.task(name="plain.echo")
def echo(text: str, number: int = 0) -> dict[str, Any]:
    """Return the arguments unchanged: the cheapest possible round trip."""
    return {"text": text, "number": number, "worker": "plain"}
