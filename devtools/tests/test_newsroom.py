"""The newsroom the demo serves: counts per day, the last-day surge, dated pages and feeds served on loopback."""

import datetime as dt
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime

import httpx
import pytest
from celery_tasks_devtools.site import KEYWORDS, SURGE, SiteServer, article_html, generate, write_keywords_file
from celery_tasks_devtools.site import zh as demo_zh

TODAY = dt.date(2026, 3, 14)
NOW = dt.datetime(2026, 3, 14, 9, 30, tzinfo=dt.UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def site():
    server = SiteServer(generate(TODAY, days=10, now=NOW)).start()
    yield server
    server.stop()


def test_counts_match_the_articles_and_only_the_last_day_surges():
    site = generate(TODAY, days=30, now=NOW)
    assert sorted(site.counts) == [TODAY - dt.timedelta(days=n) for n in range(29, -1, -1)]
    for day, levels in site.counts.items():
        articles = [a for a in site.articles if a.published.date() == day]
        for keyword, level in levels.items():
            assert sum(keyword in a.keywords for a in articles) == level
        if day != TODAY:
            assert max(levels.values()) <= 3
    assert {k: site.counts[TODAY][k] for k in SURGE} == SURGE
    assert all(a.published <= NOW for a in site.articles)
    assert generate(TODAY, days=30, now=NOW) == site  # deterministic


def test_article_pages_carry_their_publication_time(site):
    article = site.site.articles[0]
    page = httpx.get(site.base_url + article.path).text
    stamp = article.published.isoformat().replace("+00:00", "Z")
    assert f'<meta property="article:published_time" content="{stamp}">' in page
    assert f'<time datetime="{stamp}">' in page
    for keyword in article.keywords:
        aliases = next(k["aliases"] for k in KEYWORDS if k["keyword"] == keyword)
        assert any(word in page for word in [keyword, *aliases])


def test_rss_and_atom_feeds_list_every_article_with_dates(site):
    rss_url, atom_url = site.feed_urls
    rss = ET.fromstring(httpx.get(rss_url).content)
    items = rss.findall("./channel/item")
    atom = ET.fromstring(httpx.get(atom_url).content)
    entries = atom.findall(f"{ATOM}entry")
    assert len(items) + len(entries) == len(site.site.articles)
    published = {a.path: a.published for a in site.site.articles}
    for item in items:
        path = item.findtext("link").removeprefix(site.base_url)
        assert parsedate_to_datetime(item.findtext("pubDate")) == published[path]
    for entry in entries:
        path = entry.find(f"{ATOM}link").get("href").removeprefix(site.base_url)
        assert dt.datetime.fromisoformat(entry.findtext(f"{ATOM}published")) == published[path]


def test_robots_allows_and_unknown_paths_are_404(site):
    assert httpx.get(site.base_url + "/robots.txt").text == "User-agent: *\nAllow: /\n"
    assert httpx.get(site.base_url + "/nope").status_code == 404


def test_keywords_file(tmp_path):
    path = write_keywords_file(tmp_path / "k.json")
    assert '"keyword": "rabbitmq"' in path.read_text()


def test_the_chinese_site_surges_a_chinese_keyword_and_its_filler_mentions_none():
    site = generate(TODAY, days=30, now=NOW, language="zh")
    assert {k: site.counts[TODAY][k] for k in demo_zh.SURGE} == demo_zh.SURGE
    for article in site.articles:
        mentioned = {
            k["keyword"]
            for k in demo_zh.KEYWORDS
            if any(w in article.title + "".join(article.paragraphs) for w in (k["keyword"], *k["aliases"]))
        }
        assert mentioned == set(article.keywords)
    page = article_html(site.articles[-1], "zh")
    assert '<html lang="zh">' in page


def test_chinese_keywords_file(tmp_path):
    text = write_keywords_file(tmp_path / "k.json", "zh").read_text(encoding="utf-8")
    assert '"keyword": "台风"' in text
