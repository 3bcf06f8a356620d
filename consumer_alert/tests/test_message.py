"""The alert mail's structure and its refusal of anything that could inject headers."""

import datetime as dt
from email import message_from_bytes, policy

import pytest
from celery_tasks.errors import InvalidArguments
from celery_tasks.tasks.alert import SendAlert
from consumer_alert.chart import AlertChart, png_size, render_png
from consumer_alert.errors import InvalidRecipient, UnsafeHeader
from consumer_alert.message import (
    AlertMail,
    check_header_text,
    parse_address,
    parse_recipients,
    sender_address,
)

DAY = dt.date(2025, 3, 14)

INJECTIONS = [
    "ops@example.com\r\nBcc: victim@evil.test",
    "ops@example.com\nBcc: victim@evil.test",
    "ops@example.com\rBcc: victim@evil.test",
    "ops@example.com\u2028Bcc: victim@evil.test",
    "ops@example.com\x00",
]
NOT_ONE_ADDRESS = [
    "",
    "ops",
    "ops@",
    "@example.com",
    "Ops <ops@example.com>",
    "ops@example.com, boss@example.com",
    "ops@example.com; boss@example.com",
    "ops@example.com>",
    "ops(comment)@example.com",
    '"ops team"@example.com',
    "opé@example.com",
    "ops@exa mple.com",
    "ops..x@example.com",
    "a" * 250 + "@example.com",
]


@pytest.fixture
def mail():
    history = tuple((DAY - dt.timedelta(days=n), 4 + n % 3) for n in range(10, 0, -1))
    chart = AlertChart("<b>rabbit</b> & mq", DAY, 31, 14.5, (*history, (DAY, 31)))
    png = render_png(chart, 600, 300)
    recipients = tuple(parse_recipients(["ops@example.com", "team@example.org"]))
    return AlertMail(chart, png, 600, 300, sender_address("alerts@example.com", "Keyword alerts"), recipients)


@pytest.mark.parametrize("value", INJECTIONS)
def test_recipients_with_line_breaks_are_refused_as_header_injection(value):
    with pytest.raises(InvalidRecipient, match="line break or control character"):
        parse_address(value)


@pytest.mark.parametrize("value", NOT_ONE_ADDRESS)
def test_anything_but_one_plain_address_is_refused(value):
    with pytest.raises(InvalidRecipient, match="recipient"):
        parse_address(value)


def test_plain_addresses_pass_and_duplicates_are_dropped():
    addresses = parse_recipients(["ops@example.com", " OPS@example.com", "x.y+tag@mail.example.org", "a@localhost"])
    assert [a.addr_spec for a in addresses] == ["ops@example.com", "x.y+tag@mail.example.org", "a@localhost"]


@pytest.mark.parametrize("text", ["rabbit\r\nBcc: x@evil.test", "rabbit\nmq", "tab\there", "para\u2029graph"])
def test_header_text_with_breaks_or_controls_is_refused(text):
    with pytest.raises(UnsafeHeader, match="keyword contains"):
        check_header_text(text, "keyword")


def test_the_sender_is_checked_too():
    with pytest.raises(InvalidRecipient, match="ALERT_MAIL_FROM"):
        sender_address("alerts@example.com\r\nBcc: x@evil.test", "Alerts")
    with pytest.raises(UnsafeHeader, match="ALERT_MAIL_FROM_NAME"):
        sender_address("alerts@example.com", "Alerts\r\nBcc: x@evil.test")
    assert (
        str(sender_address("alerts@example.com", "Keyword alerts, ops")) == '"Keyword alerts, ops" <alerts@example.com>'
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"keyword": "rabbitmq\r\nBcc: victim@evil.test"},
        {"keyword": "rabbitmq\u2028x"},
        {"keyword": "   "},
        {"recipients": ["ops@example.com\r\nBcc: victim@evil.test"]},
        {"recipients": ["Ops <ops@example.com>"]},
        {"recipients": ["ops@example.com, boss@example.com"]},
        {"threshold": float("nan")},
    ],
)
def test_the_contract_refuses_injection_attempts_before_anything_is_published(bad):
    arguments = {"keyword": "rabbitmq", "day": "2025-03-14", "count": 31, "threshold": 14.5, **bad}
    with pytest.raises(InvalidArguments) as caught:
        SendAlert.parse_arguments((), arguments)
    assert next(iter(bad)) in str(caught.value)


def test_the_message_has_text_and_html_alternatives_and_the_chart_inline(mail):
    message = mail.build(message_id="<fixed@example.com>", date=dt.datetime(2025, 3, 14, 9, 0, tzinfo=dt.UTC))
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed["Subject"] == "[keyword alert] <b>rabbit</b> & mq: 31 documents on 2025-03-14 (threshold 14.5)"
    assert parsed["From"] == "Keyword alerts <alerts@example.com>"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["ops@example.com", "team@example.org"]
    assert parsed["Message-ID"] == "<fixed@example.com>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed.get_content_type() == "multipart/alternative"
    text_part, related = parsed.get_payload()
    assert text_part.get_content_type() == "text/plain"
    assert "31 documents mentioned “<b>rabbit</b> & mq” on Friday 14 March 2025" in text_part.get_content()
    assert "2025-03-14       31  <- alert" in text_part.get_content()
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    html = html_part.get_content()
    assert "&lt;b&gt;rabbit&lt;/b&gt; &amp; mq" in html and "<b>rabbit</b>" not in html  # escaped
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    assert png_size(image.get_content()) == (600, 300)


def test_a_message_without_recipients_is_refused(mail):
    empty = AlertMail(mail.chart, mail.png, 600, 300, mail.sender, ())
    with pytest.raises(InvalidRecipient, match="at least one recipient"):
        empty.build()
