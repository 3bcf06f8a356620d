"""The one fake news site: both sets of articles on the same routes; pages that mention only their own keywords."""

import datetime as dt
import os
import re
import xml.etree.ElementTree as ET

import httpx
from celery_tasks_devtools import proctree
from celery_tasks_devtools.site import (
    KEYWORDS,
    SECTIONS,
    CrawlerTestSite,
    SiteServer,
    article_html,
    generate,
)

TODAY = dt.date(2026, 3, 14)


def test_the_crawler_site_also_serves_section_feeds_and_the_about_page():
    with CrawlerTestSite(days=2, per_day=4, today=TODAY) as site:
        everything = ET.fromstring(httpx.get(site.url("/feed.xml")).content).findall("./channel/item")
        assert len(everything) == len(site.articles) == 8
        for section in SECTIONS:
            items = ET.fromstring(httpx.get(site.url(f"/feeds/{section}.rss")).content).findall("./channel/item")
            expected = {site.url(a.path) for a in site.articles if a.section == section}
            assert {item.findtext("link") for item in items} == expected
        assert httpx.get(site.url("/about.html")).status_code == 200
        assert httpx.get(site.url("/feeds/sports.rss")).status_code == 404
        assert "Disallow: /private/" in httpx.get(site.url("/robots.txt")).text


def test_the_demo_site_serves_the_crawler_routes_too():
    with SiteServer(generate(TODAY, days=3)) as server:
        assert httpx.get(server.url("/redirect/2"), follow_redirects=True).status_code == 200
        assert len(httpx.get(server.url("/feed.json")).json()["items"]) == len(server.site.articles)
    assert server.feed_urls == [server.url("/feeds/engineering.rss"), server.url("/feeds/operations.atom")]


def test_an_article_page_names_no_keyword_of_its_related_articles():
    site = generate(TODAY, days=5)
    words = {w.lower() for k in KEYWORDS for w in (k["keyword"], *k["aliases"])}
    for article in site.articles:
        related = [a for a in site.articles if a.day == article.day and a.id != article.id][:3]
        page = article_html(article, "en", related)
        visible = re.sub(r"<script>.*?</script>|<[^>]+>", " ", page.split("<body>", 1)[1]).lower()
        mentioned = {w for w in words if w in visible}
        planned = {
            w.lower() for k in KEYWORDS if k["keyword"] in article.keywords for w in (k["keyword"], *k["aliases"])
        }
        assert mentioned <= planned
        assert page.count("<li><a href=") == len(related)


def test_process_tree_readings():
    assert proctree.tree(os.getpid())[0] == os.getpid()
    assert proctree.rss_bytes(os.getpid()) > 0
    assert proctree.tree_cpu_seconds(os.getpid()) > 0
    assert proctree.rss_bytes(2**22 + 12345) == 0
