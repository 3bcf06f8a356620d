"""The whole alert on SQLite and PostgreSQL: sent once, duplicates refused, failures release the claim."""

import datetime as dt
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from celery_tasks.tasks.alert import SendAlertArgs
from consumer_alert.errors import DeliveryFailed, DeliveryUncertain, InvalidRecipient, NoRecipients, UnsafeHeader
from consumer_alert.ledger import AlertLedger
from consumer_alert.service import AlertService
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from task_storage import SentAlert

DAY = dt.date(2025, 3, 14)


def rows(engine):
    with Session(engine) as session:
        return [(r.keyword, r.day, r.state, r.message_id, r.recipients) for r in session.scalars(select(SentAlert))]


def test_an_alert_is_drawn_mailed_and_recorded(engine, smtp_server, make_settings, make_args):
    service = AlertService(make_settings(smtp_server), engine)
    result = service.send(make_args())
    assert result.sent and not result.duplicate
    assert result.recipients == ["ops@example.com", "team@example.org"] and result.refused == []
    (received,) = smtp_server.messages
    message = received.message
    assert message["Subject"] == "[keyword alert] rabbitmq: 31 documents on 2025-03-14 (threshold 14.5)"
    assert message["Message-ID"] == result.message_id
    assert message["From"] == "Keyword alerts <alerts@example.com>"
    assert [a.addr_spec for a in message["To"].addresses] == ["ops@example.com", "team@example.org"]
    text = message.get_body(("plain",)).get_content()
    assert "31 documents mentioned “rabbitmq” on Friday 14 March 2025, above its threshold of 14.5." in text
    html = message.get_body(("html",)).get_content()
    (image,) = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
    png = image.get_content()
    assert Image.open(io.BytesIO(png)).size == (1000, 500)
    # The chart file in ALERT_CHART_DIR is the attached picture.
    assert result.chart_path.startswith(str(make_settings().chart_dir.resolve()))
    with open(result.chart_path, "rb") as chart:
        assert chart.read() == png
    assert result.chart_bytes == len(png)
    assert rows(engine) == [("rabbitmq", DAY, "sent", result.message_id, ["ops@example.com", "team@example.org"])]


def test_sending_twice_mails_once(engine, smtp_server, make_settings, make_args):
    service = AlertService(make_settings(smtp_server), engine)
    first = service.send(make_args())
    second = service.send(make_args(recipients=["someone-else@example.com"]))
    assert first.sent and not second.sent
    assert second.duplicate and second.claim_state == "sent"
    assert second.message_id == first.message_id and second.recipients == first.recipients
    assert len(smtp_server.messages) == 1
    # Another day or another keyword is another alert.
    assert service.send(make_args(day=DAY + dt.timedelta(days=1))).sent
    assert service.send(make_args("kafka")).sent
    assert len(smtp_server.messages) == 3


def test_concurrent_deliveries_of_one_alert_mail_once(engine, smtp_server, make_settings, make_args):
    # Separate services (as separate worker processes would have), started together.
    services = [AlertService(make_settings(smtp_server), engine) for _ in range(4)]
    barrier = threading.Barrier(len(services))

    def send(service):
        barrier.wait(timeout=60)
        return service.send(make_args())

    with ThreadPoolExecutor(len(services)) as pool:
        results = list(pool.map(send, services))
    assert sum(result.sent for result in results) == 1
    assert sum(result.duplicate for result in results) == 3
    assert len(smtp_server.messages) == 1
    assert [row[2] for row in rows(engine)] == ["sent"]


def test_a_refused_mail_releases_the_claim_and_a_retry_sends(engine, smtp_server, make_settings, make_args):
    service = AlertService(make_settings(smtp_server), engine)
    smtp_server.handler.data_replies = ["451 4.3.0 mailbox busy, try later"]
    with pytest.raises(DeliveryFailed, match="451"):
        service.send(make_args())
    assert rows(engine) == [] and smtp_server.messages == []
    retry = service.send(make_args())
    assert retry.sent and len(smtp_server.messages) == 1
    assert [row[2] for row in rows(engine)] == ["sent"]


def test_an_unreachable_server_releases_the_claim(engine, smtp_server, make_settings, make_args):
    with pytest.raises(DeliveryFailed, match="connection"):
        AlertService(make_settings(), engine).send(make_args())  # nobody listens on that port
    assert rows(engine) == []
    assert AlertService(make_settings(smtp_server), engine).send(make_args()).sent


def test_a_connection_lost_mid_message_is_never_resent(engine, smtp_server, make_settings, make_args):
    service = AlertService(make_settings(smtp_server), engine)
    smtp_server.handler.hang_up_on_data = 1
    with pytest.raises(DeliveryUncertain):
        service.send(make_args())
    assert [row[2] for row in rows(engine)] == ["uncertain"]
    again = service.send(make_args())
    assert again.duplicate and not again.sent and again.claim_state == "uncertain"
    assert smtp_server.handler.data_attempts == 1


def test_default_recipients_are_used_when_the_task_names_none(engine, smtp_server, make_settings, make_args):
    settings = make_settings(smtp_server, default_recipients="oncall@example.com, , lead@example.com")
    result = AlertService(settings, engine).send(make_args(recipients=[]))
    assert result.recipients == ["oncall@example.com", "lead@example.com"]
    assert smtp_server.messages[0].rcpt_tos == ["oncall@example.com", "lead@example.com"]


def test_no_recipients_at_all_is_a_clear_error_and_records_nothing(engine, smtp_server, make_settings, make_args):
    with pytest.raises(NoRecipients, match="ALERT_DEFAULT_RECIPIENTS"):
        AlertService(make_settings(smtp_server), engine).send(make_args(recipients=[]))
    assert rows(engine) == [] and smtp_server.messages == []


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("recipients", ["ops@example.com\r\nBcc: victim@evil.test"], InvalidRecipient),
        ("recipients", ["Ops <ops@example.com>"], InvalidRecipient),
        ("keyword", "rabbitmq\r\nBcc: victim@evil.test", UnsafeHeader),
    ],
)
def test_injection_that_bypassed_the_contract_is_still_refused(
    engine, smtp_server, make_settings, make_args, field, value, error
):
    # model_construct skips validation, as a message forged without the producer's checks would.
    args = SendAlertArgs.model_construct(**{**make_args().model_dump(), field: value})
    with pytest.raises(error):
        AlertService(make_settings(smtp_server), engine).send(args)
    assert rows(engine) == [] and smtp_server.messages == []


def test_a_bad_default_recipient_is_refused(engine, smtp_server, make_settings, make_args):
    settings = make_settings(smtp_server, default_recipients="ops@example.com\nBcc: victim@evil.test")
    with pytest.raises(InvalidRecipient):
        AlertService(settings, engine).send(make_args(recipients=[]))
    assert smtp_server.messages == []


def test_the_ledger_claim_is_won_once(engine):
    ledger = AlertLedger(engine)
    won, record = ledger.claim("kafka", DAY, "<a@x>", ["ops@example.com"])
    lost, existing = ledger.claim("kafka", DAY, "<b@x>", ["ops@example.com"])
    assert won and not lost
    assert existing.id == record.id and existing.message_id == "<a@x>" and existing.state == "sending"
    ledger.mark(record.id, "sent")
    assert not ledger.release(record.id)  # a sent record is never released
    assert ledger.find("kafka", DAY).state == "sent"


def test_concurrent_claims_have_one_winner(engine):
    ledgers = [AlertLedger(engine) for _ in range(6)]
    barrier = threading.Barrier(len(ledgers))

    def claim(ledger):
        barrier.wait(timeout=60)
        return ledger.claim("kafka", DAY, "<m@x>", [])[0]

    with ThreadPoolExecutor(len(ledgers)) as pool:
        assert sorted(pool.map(claim, ledgers)) == [False] * 5 + [True]
