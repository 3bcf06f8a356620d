"""System test of the alert service: `consumer-alert` as its own process, a real SMTP server, real RabbitMQ.

The producer side uses only the typed contract API; the SMTP server (aiosmtpd) runs in this
test process on loopback and the worker process connects to it.
"""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from celery_tasks.errors import InvalidArguments
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.tasks.alert import SendAlert, SendAlertResult
from celery_tasks_devtools.testing import entry_point, free_port, queue_depth, wait_for_parked
from PIL import Image

from celery_tasks import create_app

DAY = dt.date(2025, 3, 14)


@dataclass
class Mailbox:
    """An aiosmtpd handler keeping what it receives; can answer the next messages with an error."""

    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    data_attempts: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_attempts += 1
        if self.data_replies:
            return self.data_replies.pop(0)
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 queued"


@pytest.fixture
def mailbox():
    port = free_port()
    handler = Mailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = port
    yield handler
    controller.stop()


@pytest.fixture
def alert_worker(start_service, mailbox, tmp_path):
    env = {
        "ALERT_SMTP_HOST": "127.0.0.1",
        "ALERT_SMTP_PORT": str(mailbox.port),
        "ALERT_SMTP_SECURITY": "none",
        "ALERT_MAIL_FROM": "alerts@example.com",
        "ALERT_DEFAULT_RECIPIENTS": "oncall@example.com",
        "ALERT_CHART_DIR": str(tmp_path / "charts"),
        "ALERT_RETRY_BACKOFF": "1",
        "CELERY_TASKS_DATABASE_URL": f"sqlite:///{tmp_path / 'alerts.db'}",
    }
    return start_service([entry_point("consumer-alert"), "--concurrency=2"], [SendAlert.name], env=env)


@pytest.fixture
def producer(task_settings):
    return create_app(ALL_CONTRACTS, task_settings)


def alert_kwargs(**overrides):
    history = [{"day": (DAY - dt.timedelta(days=n)).isoformat(), "count": 3 + n % 5} for n in range(28, 0, -1)]
    return {"keyword": "rabbitmq", "day": DAY, "count": 31, "threshold": 14.5, "history": history, **overrides}


def sent_alerts(tmp_path):
    with sqlite3.connect(tmp_path / "alerts.db") as connection:
        return connection.execute("SELECT keyword, day, state FROM sent_alerts").fetchall()


def test_an_alert_sent_twice_is_mailed_once_with_its_chart(alert_worker, producer, mailbox, tmp_path):
    send_alert = producer.tasks[SendAlert.name]
    # Both at once: the worker runs two processes, so the two deliveries race for the claim.
    handles = [send_alert.delay(**alert_kwargs(recipients=["ops@example.com"])) for _ in range(2)]
    results = [handle.get(timeout=60) for handle in handles]
    assert all(isinstance(result, SendAlertResult) for result in results)
    assert sorted((r.sent, r.duplicate) for r in results) == [(False, True), (True, False)]
    sent = next(r for r in results if r.sent)
    assert len(mailbox.messages) == 1
    recipients, raw = mailbox.messages[0]
    assert recipients == ["ops@example.com"]
    message = message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "[keyword alert] rabbitmq: 31 documents on 2025-03-14 (threshold 14.5)"
    assert message["Message-ID"] == sent.message_id
    assert "above its threshold of 14.5" in message.get_body(("plain",)).get_content()
    (image,) = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert image.get_content_disposition() == "inline"
    assert f"cid:{image['Content-ID'].strip('<>')}" in message.get_body(("html",)).get_content()
    png = image.get_content()
    assert Image.open(io.BytesIO(png)).size == (1000, 500)
    assert sent.chart_path.startswith(str(tmp_path / "charts"))
    with open(sent.chart_path, "rb") as chart:
        assert chart.read() == png
    assert sent_alerts(tmp_path) == [("rabbitmq", "2025-03-14", "sent")]
    # Delivered again later (a replay): still one mail.
    again = send_alert.delay(**alert_kwargs()).get(timeout=60)
    assert again.duplicate and again.claim_state == "sent" and len(mailbox.messages) == 1


def test_a_temporary_smtp_failure_is_retried_and_sent_once(alert_worker, producer, mailbox, tmp_path):
    mailbox.data_replies = ["451 4.3.0 try again later"]
    result = producer.tasks[SendAlert.name].delay(**alert_kwargs()).get(timeout=60)
    assert result.sent and result.recipients == ["oncall@example.com"]  # ALERT_DEFAULT_RECIPIENTS
    assert mailbox.data_attempts == 2 and len(mailbox.messages) == 1
    assert sent_alerts(tmp_path) == [("rabbitmq", "2025-03-14", "sent")]


def test_a_permanent_smtp_failure_is_parked_and_the_claim_released(
    alert_worker, producer, mailbox, management, vhost, tmp_path
):
    mailbox.data_replies = ["554 5.7.1 rejected"]
    handle = producer.tasks[SendAlert.name].delay(**alert_kwargs())
    with pytest.raises(Exception, match="554 5.7.1 rejected") as caught:
        handle.get(timeout=60)
    assert type(caught.value).__name__ == "PermanentDeliveryFailure"
    parked = wait_for_parked(management, vhost, f"{SendAlert.name}.dlq", 1)
    assert parked[0]["x-error-type"] == "PermanentDeliveryFailure"
    assert mailbox.data_attempts == 1 and mailbox.messages == []
    assert sent_alerts(tmp_path) == []  # released: a replay can send it
    assert producer.tasks[SendAlert.name].delay(**alert_kwargs()).get(timeout=60).sent
    assert len(mailbox.messages) == 1


def test_header_injection_never_leaves_the_producer(producer):
    send_alert = producer.tasks[SendAlert.name]
    producer.declare_topology_once(SendAlert.name)
    with pytest.raises(InvalidArguments, match="recipients"):
        send_alert.delay(**alert_kwargs(recipients=["ops@example.com\r\nBcc: victim@evil.test"]))
    with pytest.raises(InvalidArguments, match="keyword"):
        send_alert.delay(**alert_kwargs(keyword="rabbitmq\r\nBcc: victim@evil.test"))
    assert queue_depth(producer, SendAlert.name) == 0
