"""Worker-side request: a task that fails or times out is parked with its reason, then acked."""

from __future__ import annotations

import logging
from typing import Any

from billiard.einfo import ExceptionWithTraceback
from billiard.exceptions import WorkerLostError
from celery.exceptions import Ignore, Reject, Retry, Terminated, TimeLimitExceeded
from celery.worker.request import Request

from celery_tasks.runtime import metrics, parking, revocations

logger = logging.getLogger(__name__)

NOT_PARKED = (WorkerLostError, Terminated, Retry, Ignore, Reject, SystemExit, KeyboardInterrupt, MemoryError)


class ContractRequest(Request):  # type: ignore[misc]
    """A Celery request that parks failed messages in the contract's dead-letter queue."""

    def on_failure(self, exc_info: Any, send_failed_event: bool = True, return_ok: bool = False) -> Any:
        """Park the message with the error before Celery acks it (a lost worker is requeued instead)."""
        exc = exc_info.exception
        if isinstance(exc, ExceptionWithTraceback):
            exc = exc.exc
        if self.task.acks_late and not self.acknowledged and not isinstance(exc, NOT_PARKED):
            self._park(type(exc).__name__, str(exc))
        return super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)

    def revoked(self) -> bool:
        """Celery's in-memory revocations, then the shared store's (a cancel that outlives worker restarts)."""
        if super().revoked():
            return True
        if revocations.revoked_in_store(self.task.app, self.id):
            logger.info("Discarding task cancelled in the result store: %s[%s]", self.name, self.id)
            self._announce_revoked("revoked", False, None, False)
            return True
        return False

    def acknowledge(self) -> None:
        """Ack the message; in a solo pool, once its result's publisher confirm arrives (upstream.rpc.DeferredAcks)."""
        if self.acknowledged:  # type: ignore[has-type]
            return
        deferred = getattr(self.task.app, "deferred_acks", None)
        if deferred is not None and deferred.defer(self.id, self._ack_now, self._requeue_now):
            self.acknowledged = True
            return
        super().acknowledge()

    # Called on the consumer's thread while it reads the confirm: ack directly (Celery's
    # own _on_ack goes through the event loop's call_soon, which would wait for its next poll).
    def _ack_now(self) -> None:
        self._message.ack_log_error(logger, self._connection_errors)

    def _requeue_now(self) -> None:
        self._message.reject_log_error(logger, self._connection_errors, requeue=True)

    def on_timeout(self, soft: bool, timeout: float) -> Any:
        """Park a task killed by its hard time limit, so it fails once and does not loop."""
        if not soft and self.task.acks_late and not self.acknowledged:
            self._park(TimeLimitExceeded.__name__, f"hard time limit of {timeout} s exceeded")
        return super().on_timeout(soft, timeout)

    def _park(self, error_type: str, reason: str) -> None:
        """Copy the message to the dead-letter queue; on failure reject it to the broker's DLX."""
        message = self._message
        try:
            parking.park(
                self.task.app,
                message,
                queue=self.task.name,
                reason=reason,
                error_type=error_type,
                worker_version=getattr(self.task, "version", None),
            )
        except Exception:
            logger.exception("could not park %s[%s]; rejecting it to the dead-letter exchange", self.name, self.id)
            self.reject(requeue=False)
            metrics.record_dead_lettered(self.task.name, error_type, via="rejected")
