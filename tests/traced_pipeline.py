"""A traced producer process (tests only): sends a chain of two diagnostics.echo and a group of two through the
pipeline's own code, inside one pipeline span, and prints the task ids and the trace id as JSON.

    OTEL_EXPORTER_OTLP_ENDPOINT=... CELERY_TASKS_...=... python tests/traced_pipeline.py

Tracing is switched on from the OTEL_* variables, as in `producer pipeline`; the spans are exported
when the process exits (the SDK flushes at exit).
"""

import json

from celery import chain
from celery_tasks.runtime import tracing
from celery_tasks.tasks.diagnostics import Echo
from producer.pipeline import Item, Pipeline
from producer.report import SilentReporter
from producer.settings import ProducerSettings

from celery_tasks import create_app
from producer import observability

TIMEOUT = 60.0


def main():
    observability.setup_process()  # what `producer` does first: JSON logs and tracing from the environment
    app = create_app([Echo])
    pipeline = Pipeline(app, ProducerSettings(task_timeout=TIMEOUT), SilentReporter())
    try:
        with tracing.span("pipeline", {"celery_tasks.pipeline.day": "test"}):
            ids = tracing.current_ids()
            assert ids is not None, "tracing is off: set OTEL_EXPORTER_OTLP_ENDPOINT"
            # The chain as Pipeline.judge builds it (map_keywords | find_thresholds), on diagnostics.echo.
            steps = chain(
                pipeline.signature(Echo, {"text": "chain step 1", "number": 1}),
                pipeline.linked_signature(Echo, {"text": "chain step 2", "number": 2}),
            )
            last = steps.apply_async()
            assert last.get(timeout=TIMEOUT).text == "chain step 2"
            assert last.parent.get(timeout=TIMEOUT).text == "chain step 1"
            # A group as the pipeline's stages send them (crawl, map keywords, alerts).
            items = [Item(f"member {n}", Echo, {"text": f"group member {n}", "number": n}) for n in (1, 2)]
            outcomes = pipeline.run_group("echo", items)
            assert [outcome.result.text for outcome in outcomes] == ["group member 1", "group member 2"], outcomes
    finally:
        app.close()
    print(
        json.dumps(
            {
                "trace_id": ids[0],
                "pipeline_span_id": ids[1],
                "chain": [last.parent.id, last.id],
                "group": [outcome.task_id for outcome in outcomes],
            }
        )
    )


if __name__ == "__main__":
    main()
