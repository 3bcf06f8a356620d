"""Dead-letter tooling: list, replay and purge the messages parked in a contract's ``<name>.dlq``.

Replay moves one message at a time and leaves every message in exactly one place, even when
the replay process is killed at any instruction:

1. ``basic.get`` the parked copy M from ``<name>.dlq`` without acking it (a crash returns it);
2. validate it against the current contract: a valid copy M' is headed for the queue, an invalid
   one goes back to the dead-letter queue with the refusal as its new reason;
3. publish M' (parking and broker headers stripped, ``x-replay-count`` + 1, ``x-replay-source`` =
   M's key) to the *staging* queue ``<name>.replay`` and wait for the publisher confirm;
4. journal "staged M" (an fsync'd line), ack M, make a synchronous round trip so the ack is
   processed, journal "acked M";
5. take M' from staging and reject it: the broker dead-letters it (at-least-once strategy) through
   ``<name>.replay.router`` to ``<name>`` or ``<name>.dlq``, a move done inside the broker.

A later run first finishes whatever an interrupted run left in staging, and acks (skips) any
parked copy whose key the journal shows as staged, so a crash between the confirm and the ack
neither loses nor duplicates. Unlike a publish-then-ack journal, nothing depends on the journal
write racing the confirm: if the crash comes after the confirm but before "staged" is written,
M' is found in staging (a queue no worker consumes) and its source key is journaled then.
A broker-side exclusive queue ``<name>.replay.lock`` keeps replays of one contract apart, and is
released by the broker when a killed replay's connection closes.
"""

from producer.dead_letters.copies import check_message, message_key, refused_headers, replayed_headers, task_id_of
from producer.dead_letters.journal import JOURNAL_ENV, ReplayJournal, default_journal_dir
from producer.dead_letters.letters import DeadLetter, decode_task_body, peek_dead_letters
from producer.dead_letters.listing import ListedDeadLetter, dead_letter_depth, list_dead_letters, resolve_contract
from producer.dead_letters.moves import PHASES, ReplayReport, purge, replay
from producer.errors import DeadLetterError, ReplayLocked

__all__ = (
    "JOURNAL_ENV",
    "PHASES",
    "DeadLetter",
    "DeadLetterError",
    "ListedDeadLetter",
    "ReplayJournal",
    "ReplayLocked",
    "ReplayReport",
    "check_message",
    "dead_letter_depth",
    "decode_task_body",
    "default_journal_dir",
    "list_dead_letters",
    "message_key",
    "peek_dead_letters",
    "purge",
    "refused_headers",
    "replay",
    "replayed_headers",
    "resolve_contract",
    "task_id_of",
)
