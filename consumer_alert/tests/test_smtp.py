"""Delivery through a real SMTP server on loopback: plain, STARTTLS, TLS, refusals and broken connections."""

import datetime as dt
import io

import pytest
from consumer_alert.chart import AlertChart, render_png
from consumer_alert.errors import AlertConfigurationError, DeliveryFailed, DeliveryUncertain, PermanentDeliveryFailure
from consumer_alert.message import AlertMail, parse_recipients, sender_address
from consumer_alert.settings import AlertSettings, load_alert_settings
from consumer_alert.smtp import DeliveryProgress, deliver
from PIL import Image

from .conftest import SMTP_PASSWORD, SMTP_USER

DAY = dt.date(2025, 3, 14)


@pytest.fixture
def message():
    chart = AlertChart.from_counts("rabbitmq", DAY, 31, 14.5, [(DAY - dt.timedelta(days=n), 5) for n in range(1, 8)])
    recipients = tuple(parse_recipients(["ops@example.com", "team@example.org"]))
    sender = sender_address("alerts@example.com", "Keyword alerts")
    return AlertMail(chart, render_png(chart), 1000, 500, sender, recipients).build()


def check_received(received, message):
    assert received.mail_from == "alerts@example.com"
    assert received.rcpt_tos == ["ops@example.com", "team@example.org"]
    parsed = received.message
    assert parsed["Message-ID"] == message["Message-ID"]
    images = [part for part in parsed.walk() if part.get_content_type() == "image/png"]
    assert len(images) == 1
    image = Image.open(io.BytesIO(images[0].get_content()))
    assert image.format == "PNG" and image.size == (1000, 500)


def test_plain_smtp_delivers_to_every_recipient(smtp_server, make_settings, message):
    progress = DeliveryProgress()
    delivery = deliver(message, make_settings(smtp_server), progress)
    assert delivery.accepted == ["ops@example.com", "team@example.org"] and not delivery.refused
    assert delivery.reply.startswith("250")
    assert progress.stage == "done"
    (received,) = smtp_server.messages
    check_received(received, message)
    assert not received.tls


def test_starttls_with_login(starttls_server, make_settings, tls_files, message):
    settings = make_settings(
        starttls_server,
        smtp_security="starttls",
        smtp_ca_file=tls_files.cert,
        smtp_user=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
    )
    deliver(message, settings)
    (received,) = starttls_server.messages
    check_received(received, message)
    assert received.tls and received.login == SMTP_USER


def test_implicit_tls_with_login(tls_server, make_settings, tls_files, message):
    settings = make_settings(
        tls_server, smtp_security="tls", smtp_ca_file=tls_files.cert, smtp_user=SMTP_USER, smtp_password=SMTP_PASSWORD
    )
    deliver(message, settings)
    (received,) = tls_server.messages
    check_received(received, message)
    assert received.login == SMTP_USER


def test_an_untrusted_certificate_is_refused(starttls_server, make_settings, message):
    settings = make_settings(starttls_server, smtp_security="starttls")  # the system CAs do not know it
    with pytest.raises(PermanentDeliveryFailure, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        deliver(message, settings)
    assert not starttls_server.messages


def test_wrong_credentials_are_a_permanent_failure(starttls_server, make_settings, tls_files, message):
    settings = make_settings(
        starttls_server,
        smtp_security="starttls",
        smtp_ca_file=tls_files.cert,
        smtp_user=SMTP_USER,
        smtp_password="wrong",
    )
    with pytest.raises(PermanentDeliveryFailure, match="refused the credentials"):
        deliver(message, settings)
    assert not starttls_server.messages


def test_a_server_that_requires_starttls_refuses_plain_sending(starttls_server, make_settings, message):
    progress = DeliveryProgress()
    with pytest.raises(PermanentDeliveryFailure, match="530"):
        deliver(message, make_settings(starttls_server), progress)
    assert progress.stage == "envelope" and not progress.maybe_sent


def test_credentials_without_tls_are_refused_by_the_settings():
    with pytest.raises(AlertConfigurationError, match="in clear"):
        AlertSettings(smtp_user="u", smtp_password="p", smtp_security="none").check()
    assert AlertSettings(smtp_user="u", smtp_password="p", smtp_allow_plaintext_auth=True).check()
    with pytest.raises(AlertConfigurationError, match="ALERT_SMTP_SECURITY"):
        load_alert_settings(smtp_security="ssl")
    assert AlertSettings(smtp_security="tls").port == 465
    assert AlertSettings(smtp_security="starttls").port == 587


def test_some_recipients_refused_the_others_still_get_it(smtp_server, make_settings, message):
    smtp_server.handler.refuse_recipients = {"team@example.org"}
    delivery = deliver(message, make_settings(smtp_server))
    assert delivery.accepted == ["ops@example.com"]
    assert list(delivery.refused) == ["team@example.org"] and delivery.refused["team@example.org"].startswith("550")
    assert smtp_server.messages[0].rcpt_tos == ["ops@example.com"]


def test_every_recipient_refused_is_a_permanent_failure(smtp_server, make_settings, message):
    smtp_server.handler.refuse_recipients = {"ops@example.com", "team@example.org"}
    with pytest.raises(PermanentDeliveryFailure, match="every recipient refused"):
        deliver(message, make_settings(smtp_server))
    assert not smtp_server.messages


def test_a_temporary_refusal_of_the_message_is_transient(smtp_server, make_settings, message):
    smtp_server.handler.data_replies = ["451 4.3.0 try again later"]
    progress = DeliveryProgress()
    with pytest.raises(DeliveryFailed, match="451") as caught:
        deliver(message, make_settings(smtp_server), progress)
    assert caught.value.transient
    assert not smtp_server.messages
    deliver(message, make_settings(smtp_server))
    assert len(smtp_server.messages) == 1


def test_a_permanent_refusal_of_the_message_is_not_transient(smtp_server, make_settings, message):
    smtp_server.handler.data_replies = ["554 5.7.1 rejected as spam"]
    with pytest.raises(PermanentDeliveryFailure, match="554") as caught:
        deliver(message, make_settings(smtp_server))
    assert not caught.value.transient


def test_an_unreachable_server_is_transient(make_settings, message):
    progress = DeliveryProgress()
    with pytest.raises(DeliveryFailed, match="connection") as caught:
        deliver(message, make_settings(), progress)  # a free port: nobody listens
    assert caught.value.transient and progress.stage == "connect"


def test_a_connection_broken_during_the_message_is_uncertain(smtp_server, make_settings, message):
    smtp_server.handler.hang_up_on_data = 1
    progress = DeliveryProgress()
    with pytest.raises(DeliveryUncertain, match="may have accepted it"):
        deliver(message, make_settings(smtp_server), progress)
    assert progress.maybe_sent
