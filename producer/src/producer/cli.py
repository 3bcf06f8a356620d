"""The `producer` command: each group of commands lives in its own module and registers itself here."""

from __future__ import annotations

import typer

from producer import commands_keys, commands_ops, commands_tasks

app = typer.Typer(
    name="producer",
    help="Send typed tasks, run the pipeline and the schedule, serve the HTTP API, watch the queues.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

commands_tasks.register(app)
commands_ops.register(app)
commands_keys.register(app)
