"""``alert.send_alert``: draw the chart, claim the (keyword, day), mail it, record the outcome.

Order of the steps::

    1. check recipients and keyword         (bad input fails here, nothing recorded)
    2. look for a record of (keyword, day)  (found: duplicate, nothing drawn or sent)
    3. draw the chart, write the PNG, build the message with its Message-ID
    4. CLAIM: insert SentAlert(state='sending') and commit
         unique violation -> someone else decided to send: duplicate=True, sent=False
    5. SMTP dialogue
         server certainly refused / unreachable -> delete the claim, raise (a retry can send)
         connection broke while the body was in flight -> state='uncertain', raise (never resent)
    6. state='sent' (with the recipients the server accepted)

Step 4 is the decision: one committed insert guarded by the unique key on (keyword, day),
so two deliveries of the same task, or two tasks for the same alert running at once on
different workers, send one mail. Step 2 only saves drawing a chart for a known duplicate.

Crash windows (the worker process dies, the machine loses power, the database goes away).
The guarantee is *at most once*; where the two conflict, an alert is lost rather than doubled:

* before step 4 commits: no record; the message is redelivered (late ack, requeue on a
  lost worker) and the alert is sent then. Nothing lost, nothing doubled.
* after step 4, before the body reaches the server: the ``sending`` row stays, the server
  never saw the mail. The redelivered task finds the row and reports ``duplicate`` with
  ``claim_state='sending'``: this alert is **not sent**. An operator who sees an old
  ``sending`` row (``created_at`` tells how old) can delete it to let a replay send:
  ``DELETE FROM sent_alerts WHERE keyword = :k AND day = :d AND state = 'sending'``.
* while the body is in flight or after the server took it, before step 6 commits: the row
  says ``sending`` (or ``uncertain`` when the broken connection was noticed) and the mail
  may well be in the recipient's inbox. A redelivery reports ``duplicate``: not doubled.
* step 6 fails (database unreachable after the server took the mail): logged, the task
  still returns ``sent=True``; the row stays ``sending``, which blocks a resend. Correct.
* a definite SMTP failure whose claim deletion fails: the ``sending`` row stays; like the
  second case, the alert is not retried until an operator deletes it.

Claims are never taken over automatically after a timeout: a claim that looks stale may
belong to a mail the server has already delivered, so reclaiming it would break at most once.
"""

from __future__ import annotations

import logging
from pathlib import Path

from celery_tasks.tasks.alert import SendAlertArgs, SendAlertResult
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from consumer_alert.chart import AlertChart, chart_filename, render_png, write_chart
from consumer_alert.errors import DeliveryFailed, DeliveryUncertain, NoRecipients
from consumer_alert.ledger import SENT, UNCERTAIN, AlertLedger, AlertRecord
from consumer_alert.message import AlertMail, check_header_text, new_message_id, parse_recipients, sender_address
from consumer_alert.settings import AlertSettings, load_alert_settings
from consumer_alert.smtp import DeliveryProgress, deliver
from task_storage import make_engine

logger = logging.getLogger(__name__)


class AlertService:
    """Sends each (keyword, day) alert at most once, through the configured SMTP server."""

    def __init__(self, settings: AlertSettings, engine: Engine) -> None:
        self.settings = settings
        self.ledger = AlertLedger(engine)
        self.sender = sender_address(settings.mail_from, settings.mail_from_name)
        check_header_text(settings.subject_prefix, "ALERT_SUBJECT_PREFIX")

    @classmethod
    def from_environment(cls) -> AlertService:
        """The service configured by ALERT_* and CELERY_TASKS_DATABASE_URL."""
        return cls(load_alert_settings(), make_engine())

    def send(self, args: SendAlertArgs) -> SendAlertResult:
        """Draw, claim, mail and record one alert (see the module docstring for the order and its reasons)."""
        check_header_text(args.keyword, "keyword")
        recipients = parse_recipients(args.recipients or self.settings.default_recipient_list)
        if not recipients:
            raise NoRecipients(
                f"no recipients for the alert on {args.keyword!r}: the task named none and "
                "ALERT_DEFAULT_RECIPIENTS is empty"
            )
        existing = self.ledger.find(args.keyword, args.day)
        if existing is not None:
            return self._duplicate(existing, args)

        chart = AlertChart.from_counts(
            args.keyword, args.day, args.count, args.threshold, ((item.day, item.count) for item in args.history)
        )
        width, height = self.settings.chart_width, self.settings.chart_height
        png = render_png(chart, width, height)
        chart_path = write_chart(self.settings.chart_dir, args.keyword, args.day, png)
        mail = AlertMail(chart, png, width, height, self.sender, tuple(recipients), self.settings.subject_prefix)
        message_id = new_message_id(self.sender)
        message = mail.build(message_id)

        claimed, record = self.ledger.claim(
            args.keyword, args.day, message_id, [address.addr_spec for address in recipients]
        )
        if not claimed:
            return self._duplicate(record, args, chart_path)

        progress = DeliveryProgress()
        try:
            delivery = deliver(message, self.settings, progress)
        except BaseException as exc:
            self._after_failure(record, progress, exc)
            raise
        try:
            self.ledger.mark(record.id, SENT, delivery.accepted)
        except SQLAlchemyError:
            logger.exception(
                "alert %s was sent but could not be marked sent; its claim still blocks a resend", message_id
            )
        logger.info(
            "alert sent: keyword=%r day=%s count=%d threshold=%g to %d recipient(s), message id %s",
            args.keyword,
            args.day,
            args.count,
            args.threshold,
            len(delivery.accepted),
            message_id,
        )
        if delivery.refused:
            logger.warning("alert %s: the server refused %s", message_id, delivery.refused)
        return SendAlertResult(
            sent=True,
            duplicate=False,
            message_id=message_id,
            recipients=delivery.accepted,
            refused=sorted(delivery.refused),
            chart_path=str(chart_path),
            chart_bytes=len(png),
        )

    def _after_failure(self, record: AlertRecord, progress: DeliveryProgress, exc: BaseException) -> None:
        """Release the claim when the server certainly has no copy; otherwise keep it as ``uncertain``."""
        try:
            if not isinstance(exc, DeliveryFailed) and (isinstance(exc, DeliveryUncertain) or progress.maybe_sent):
                self.ledger.mark(record.id, UNCERTAIN)
                logger.error("alert %s may have been sent (%s); it will not be sent again", record.message_id, exc)
            else:
                self.ledger.release(record.id)
                logger.warning("alert %s not sent (%s); claim released for a retry", record.message_id, exc)
        except SQLAlchemyError:
            logger.exception("could not update the claim of alert %s after the SMTP failure", record.message_id)

    def _duplicate(self, record: AlertRecord, args: SendAlertArgs, chart_path: Path | None = None) -> SendAlertResult:
        """The result for an alert some delivery already claimed."""
        logger.info(
            "alert for %r on %s already claimed (state %s, message id %s): not sending again",
            args.keyword,
            args.day,
            record.state,
            record.message_id,
        )
        if chart_path is None:
            candidate = (self.settings.chart_dir / chart_filename(args.keyword, args.day)).resolve()
            chart_path = candidate if candidate.exists() else None
        return SendAlertResult(
            sent=False,
            duplicate=True,
            message_id=record.message_id,
            recipients=record.recipients,
            claim_state=record.state,
            chart_path=str(chart_path) if chart_path else None,
            chart_bytes=chart_path.stat().st_size if chart_path else 0,
        )
