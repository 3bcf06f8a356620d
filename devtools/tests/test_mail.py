"""The mail catcher: a real SMTP session, one .eml per mail, PNG attachments found again."""

import smtplib
from email.message import EmailMessage

from celery_tasks_devtools.mail import MailCatcher, normalise_message_id, png_attachments

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_each_mail_is_saved_as_eml_with_its_png(tmp_path):
    catcher = MailCatcher(tmp_path / "mail").start()
    try:
        message = EmailMessage()
        message["Subject"] = "[keyword alert] rabbitmq: 14 documents"
        message["From"] = "alerts@example.com"
        message["To"] = "team@example.com"
        message["Message-ID"] = "<abc.123@example.com>"
        message.set_content("see the chart")
        message.add_attachment(PNG, maintype="image", subtype="png", filename="chart.png")
        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=10) as smtp:
            smtp.send_message(message)
            plain = EmailMessage()
            plain["Subject"] = "second"
            plain["From"] = "a@example.com"
            plain["To"] = "b@example.com"
            plain.set_content("no attachment")
            smtp.send_message(plain)
    finally:
        catcher.stop()
    saved = catcher.file_for("abc.123@example.com")
    assert saved == tmp_path / "mail" / "001-keyword-alert-rabbitmq-14-documents.eml"
    assert catcher.file_for("<abc.123@example.com>") == saved
    assert png_attachments(saved) == [("chart.png", len(PNG))]
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == [saved.name, "002-second.eml"]
    assert png_attachments(tmp_path / "mail" / "002-second.eml") == []


def test_message_ids_are_compared_without_brackets():
    assert normalise_message_id(" <x@y> ") == "x@y"
    assert normalise_message_id(None) == ""


def test_a_mail_sent_twice_is_kept_twice(tmp_path):
    """The reliability drills count duplicates: a repeated Message-ID keeps both files and both subjects."""
    catcher = MailCatcher(tmp_path / "mail").start()
    try:
        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=10) as smtp:
            for _ in range(2):
                message = EmailMessage()
                message["Subject"] = "[keyword alert] same"
                message["From"] = "alerts@example.com"
                message["To"] = "team@example.com"
                message["Message-ID"] = "<once@example.com>"
                message.set_content("sent twice")
                smtp.send_message(message)
    finally:
        catcher.stop()
    assert catcher.subjects() == ["[keyword alert] same", "[keyword alert] same"]
    assert sorted(p.name for p in (tmp_path / "mail").iterdir()) == [
        "001-keyword-alert-same.eml",
        "002-keyword-alert-same.eml",
    ]
    assert catcher.file_for("once@example.com") == tmp_path / "mail" / "002-keyword-alert-same.eml"
