"""HTML, date and feed parsing."""

import datetime as dt
import hashlib
import json

import pytest
from consumer_crawler.charset import decode_body, detect_encoding
from consumer_crawler.errors import ParseError
from consumer_crawler.feeds import json_entry, parse_json_feed, parse_xml_feed
from consumer_crawler.parsing import content_hash, normalise_text, parse_date, parse_html

PAGE = """<!doctype html><html><head><title>  The   Title </title>
<meta property="article:published_time" content="2024-03-05T23:30:00-05:00">
<base href="http://other.example/base/"></head>
<body><nav><a href="/nav">Navigation</a></nav>
<article><h1>Heading</h1><p>First <b>bold</b> paragraph.</p><p>Second&nbsp;one</p>
<a href="one.html">1</a> <a href="one.html#part">1 again</a> <a href="https://x.example/two?b=2&a=1">2</a>
<a href="mailto:a@b.example">mail</a> <a href="#top">top</a></article>
<script>var hidden = "script text";</script><style>.x{}</style></body></html>"""


def test_parse_html_reads_title_text_links_and_date():
    page = parse_html(PAGE, "http://site.example/news/item")
    assert page.title == "The Title"
    assert page.text == "Heading First bold paragraph. Second one 1 1 again 2 mail top"
    assert "script text" not in page.text and "Navigation" not in page.text
    assert page.links == 3  # /nav, base/one.html (once), x.example/two
    assert page.published == dt.datetime(2024, 3, 6, 4, 30, tzinfo=dt.UTC)


def test_parse_html_fallbacks():
    page = parse_html(
        '<html><head><meta property="og:title" content="OG title"></head><body><main><time datetime="2024-01-02">'
        "Jan 2</time><p>text</p></main></body></html>",
        "http://a.example/",
    )
    assert page.title == "OG title"
    assert page.published == dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    bare = parse_html("<h1>Only a heading</h1><p>body</p>", "http://a.example/")
    assert bare.title == "Only a heading"
    assert bare.published is None
    assert bare.links == 0


def test_content_hash_is_sha256_of_the_normalised_text():
    assert normalise_text("  a\n\tb   c ") == "a b c"
    assert content_hash(" a  b\n") == hashlib.sha256(b"a b").hexdigest()
    assert content_hash("a b") == content_hash("a\n\nb")
    assert content_hash("Cafe\u0301") == content_hash("Caf\u00e9")  # NFC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:00:00Z", dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)),
        ("2024-05-01", dt.datetime(2024, 5, 1, tzinfo=dt.UTC)),
        ("Wed, 01 May 2024 10:00:00 +0200", dt.datetime(2024, 5, 1, 8, tzinfo=dt.UTC)),
        ("not a date", None),
        ("", None),
    ],
)
def test_parse_date(value, expected):
    parsed = parse_date(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is not None


def test_charset_detection_order():
    assert detect_encoding("é".encode("utf-16"), "text/html; charset=latin1") == "utf-16"  # BOM first
    assert detect_encoding(b"caf\xe9", "text/html; charset=iso-8859-1") == "cp1252"
    assert detect_encoding(b'<?xml version="1.0" encoding="koi8-r"?><rss/>', "application/xml") == "koi8_r"
    assert detect_encoding(b"plain ascii", "text/html; charset=no-such-codec") == "utf_8"
    assert decode_body(b"\x80 price", "text/html; charset=us-ascii") == ("\u20ac price", "cp1252")


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>One</title><link>/a/1</link><pubDate>Tue, 05 Mar 2024 10:00:00 GMT</pubDate>
<description>&lt;p&gt;Summary &lt;b&gt;one&lt;/b&gt;&lt;/p&gt;</description></item>
<item><title>No link</title></item></channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<id>urn:x</id><updated>2024-03-05T10:00:00Z</updated>
<entry><title>E</title><link href="http://a.example/e"/><id>urn:e</id><updated>2024-03-04T10:00:00Z</updated>
<content type="html">&lt;p&gt;Full content&lt;/p&gt;</content></entry></feed>"""


def test_rss_entries():
    feed = parse_xml_feed(RSS, "http://a.example/feed.xml", "application/rss+xml")
    assert feed.format == "rss20"
    assert feed.title == "T"
    first, second = feed.entries
    assert first.url == "http://a.example/a/1"
    assert first.text == "Summary one"
    assert first.published == dt.datetime(2024, 3, 5, 10, tzinfo=dt.UTC)
    assert second.url is None


def test_atom_entries():
    feed = parse_xml_feed(ATOM, "http://a.example/atom.xml")
    assert feed.format == "atom10"
    (entry,) = feed.entries
    assert (entry.url, entry.title, entry.text) == ("http://a.example/e", "E", "Full content")
    assert entry.published == dt.datetime(2024, 3, 4, 10, tzinfo=dt.UTC)


def test_not_a_feed():
    with pytest.raises(ParseError, match="not an RSS or Atom feed"):
        parse_xml_feed(b"<html><body>hello</body></html>", "http://a.example/x")


def test_a_feed_body_is_never_opened_as_a_file_or_url(tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_bytes(RSS)
    with pytest.raises(ParseError):
        parse_xml_feed(str(secret).encode(), "http://a.example/feed")
    with pytest.raises(ParseError):
        parse_xml_feed(b"http://127.0.0.1:9/feed.xml", "http://a.example/feed")


def test_json_feed_and_json_api_items():
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "J",
            "items": [
                {"id": "1", "url": "/j/1", "title": "J1", "content_html": "<p>Hi <i>there</i></p>"},
                {
                    "id": "2",
                    "external_url": "http://b.example/2",
                    "content_text": "plain",
                    "date_published": "2024-02-01",
                },
            ],
        }
    ).encode()
    feed = parse_json_feed(body, "http://a.example/feed.json", require_jsonfeed=True)
    assert feed.format == "jsonfeed"
    assert [entry.url for entry in feed.entries] == ["http://a.example/j/1", "http://b.example/2"]
    assert [entry.text for entry in feed.entries] == ["Hi there", "plain"]
    assert feed.entries[1].published == dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    listing = parse_json_feed(b'[{"link": "http://c.example/", "body": "b", "published_at": 0}]', "http://a.example/")
    assert listing.format == "json_api"
    assert listing.entries[0].published == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(ParseError, match="not a JSON Feed"):
        parse_json_feed(b'{"items": []}', "http://a.example/", require_jsonfeed=True)
    with pytest.raises(ParseError, match="invalid JSON"):
        parse_json_feed(b"{nope", "http://a.example/")


def test_json_entry_field_names():
    entry = json_entry(
        {"headline": "H", "permalink": "/p", "description": "d", "links": ["a", "b"]}, "http://x.example"
    )
    assert (entry.title, entry.url, entry.text, entry.links) == ("H", "http://x.example/p", "d", 2)
