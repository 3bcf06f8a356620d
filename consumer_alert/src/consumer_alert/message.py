"""The alert mail: plain text and HTML alternatives, the chart inline, headers safe against injection.

Structure (what a mail client shows is the HTML with the picture, or else the text)::

    multipart/alternative
      text/plain
      multipart/related
        text/html            <img src="cid:...">
        image/png            Content-ID: <...>, Content-Disposition: inline

Every value that reaches a header is checked first: addresses must be one plain
``local@domain`` each (parsed with :class:`email.headerregistry.Address`, no display
name, list or comment smuggled in) and text must hold no line break or control
character. A refused value raises :class:`~consumer_alert.errors.UnsafeHeader` naming it;
nothing is ever silently cleaned.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from celery_tasks.tasks.alert import EMAIL_PATTERN, MAX_ADDRESS_LENGTH, unsafe_characters

from consumer_alert.chart import AlertChart, shorten
from consumer_alert.errors import InvalidRecipient, UnsafeHeader

ADDRESS_RE = re.compile(EMAIL_PATTERN)
RECENT_DAYS = 7
MARK = "  <- alert"
HIGHLIGHT = ' style="color:#d62728;font-weight:bold"'


def check_header_text(value: str, what: str) -> str:
    """``value`` unchanged when it is safe in a header; UnsafeHeader naming ``what`` otherwise."""
    bad = unsafe_characters(value)
    if bad:
        raise UnsafeHeader(
            f"{what} contains {bad[0]!r}: line breaks and control characters are refused in mail headers"
        )
    return value


def parse_address(value: str, what: str = "recipient") -> Address:
    """One plain ASCII address as an Address; InvalidRecipient explaining why otherwise."""
    if unsafe_characters(value):
        raise InvalidRecipient(f"{what} {value!r} contains a line break or control character (header injection)")
    if len(value) > MAX_ADDRESS_LENGTH:
        raise InvalidRecipient(f"{what} is longer than {MAX_ADDRESS_LENGTH} characters")
    if not ADDRESS_RE.fullmatch(value):
        raise InvalidRecipient(
            f"{what} {value!r} is not one plain address like 'name@example.com' "
            "(no display name, no list, no comment, ASCII only)"
        )
    try:
        address = Address(addr_spec=value)
    except (ValueError, IndexError) as exc:  # HeaderParseError is a ValueError
        raise InvalidRecipient(f"{what} {value!r} is not a valid address: {exc}") from None
    if address.addr_spec != value:
        raise InvalidRecipient(f"{what} {value!r} is not a valid address (parsed as {address.addr_spec!r})")
    return address


def parse_recipients(values: Sequence[str]) -> list[Address]:
    """Every recipient checked, duplicates (case-insensitive) dropped, order kept."""
    seen: set[str] = set()
    addresses = []
    for value in values:
        address = parse_address(value.strip())
        key = address.addr_spec.lower()
        if key not in seen:
            seen.add(key)
            addresses.append(address)
    return addresses


def sender_address(mail_from: str, display_name: str) -> Address:
    """The From address with its display name, both checked."""
    address = parse_address(mail_from, "ALERT_MAIL_FROM")
    name = check_header_text(display_name, "ALERT_MAIL_FROM_NAME")
    return Address(display_name=name, username=address.username, domain=address.domain)


@dataclass(frozen=True)
class AlertMail:
    """Everything the alert mail says, before it becomes a message."""

    chart: AlertChart
    png: bytes
    width: int
    height: int
    sender: Address
    recipients: tuple[Address, ...]
    subject_prefix: str = "[keyword alert]"

    @property
    def subject(self) -> str:
        """One line: keyword, count, day, threshold."""
        chart = self.chart
        return (
            f"{self.subject_prefix} {shorten(chart.keyword, 80)}: {chart.count} documents on "
            f"{chart.day.isoformat()} (threshold {chart.threshold:g})"
        ).strip()

    def recent(self) -> list[tuple[dt.date, int]]:
        """The last days up to and including the alert's day, oldest first."""
        upto = [item for item in self.chart.history if item[0] <= self.chart.day]
        return upto[-RECENT_DAYS:]

    def text(self) -> str:
        """The plain text alternative."""
        chart = self.chart
        lines = [
            f"Keyword alert: “{chart.keyword}”",
            "",
            f"{chart.count} documents mentioned “{chart.keyword}” on {chart.day:%A %d %B %Y}, "
            f"{_comparison(chart)} its threshold of {chart.threshold:g}.",
            "",
            "Recent days:",
            *(f"  {day.isoformat()}  {count:>7}{MARK if day == chart.day else ''}" for day, count in self.recent()),
            "",
            "The chart (daily counts, threshold line, the day marked in red) is in the HTML part of this mail.",
            "",
            "-- ",
            "Sent once for this keyword and day by the celery-tasks alert service.",
        ]
        return "\n".join(lines) + "\n"

    def html(self, cid: str) -> str:
        """The HTML alternative, showing the chart by its Content-ID."""
        chart = self.chart
        keyword = html.escape(chart.keyword)
        rows = "\n".join(
            f"<tr{HIGHLIGHT if day == chart.day else ''}>"
            f'<td style="padding:2px 12px 2px 0">{day.isoformat()}</td>'
            f'<td style="padding:2px 0;text-align:right">{count}</td></tr>'
            for day, count in self.recent()
        )
        alt = html.escape(f"Daily counts of {chart.keyword} with the threshold {chart.threshold:g}", quote=True)
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Keyword alert: {keyword}</title></head>
<body style="font-family:Helvetica,Arial,sans-serif;color:#222">
<h2 style="margin-bottom:4px">Keyword alert: “{keyword}”</h2>
<p><strong>{chart.count}</strong> documents mentioned <strong>{keyword}</strong>
on <strong>{chart.day:%A %d %B %Y}</strong>, {_comparison(chart)} its threshold
of <strong>{chart.threshold:g}</strong>.</p>
<p><img src="cid:{cid}" alt="{alt}" width="{self.width}" height="{self.height}"
 style="max-width:100%;height:auto;border:1px solid #ddd"></p>
<table style="border-collapse:collapse;font-size:14px">
<thead><tr><th style="text-align:left;padding-right:12px">day</th>
<th style="text-align:right">documents</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<p style="color:#777;font-size:12px">Sent once for this keyword and day by the celery-tasks alert service.</p>
</body></html>
"""

    def build(self, message_id: str | None = None, date: dt.datetime | None = None) -> EmailMessage:
        """The complete message, ready for SMTP."""
        subject = check_header_text(self.subject, "subject")
        if not self.recipients:
            raise InvalidRecipient("an alert mail needs at least one recipient")
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = self.sender
        message["To"] = self.recipients
        message["Date"] = format_datetime(date or dt.datetime.now(dt.UTC))
        message["Message-ID"] = message_id or new_message_id(self.sender)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
        message.set_content(self.text())
        cid = make_msgid(idstring="chart", domain=self.sender.domain)
        message.add_alternative(self.html(cid[1:-1]), subtype="html")
        html_part = message.get_payload()[1]  # type: ignore[index]
        if not isinstance(html_part, EmailMessage):  # pragma: no cover - add_alternative always makes one
            raise TypeError("the HTML alternative is missing")
        html_part.add_related(
            self.png,
            maintype="image",
            subtype="png",
            cid=cid,
            disposition="inline",
            filename=f"{self.chart.day.isoformat()}-chart.png",
        )
        return message


def new_message_id(sender: Address) -> str:
    """A fresh Message-ID in the sender's domain."""
    return make_msgid(idstring="alert", domain=sender.domain)


def _comparison(chart: AlertChart) -> str:
    return "above" if chart.count > chart.threshold else "not above"
