"""Keyword matching side by side: this tree's matcher against a baseline's, on the same 100,000 documents.

Latin documents as in ``etl_day_bench.py`` (150 words, keyword and alias mentions) are
matched by the baseline ``text.py`` (read from git, ``--baseline main``) and by this
tree's, alternately, ``--rounds`` times; the best round of each is kept and their ratio
printed. Then a Chinese day (running text without spaces, Chinese keyword mentions) is
matched by this tree's matcher, and by the baseline's for comparison (it finds nothing).

    .venv/bin/python consumer_etl/scripts/match_bench.py --documents 100000
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from celery_tasks_devtools.documents import title_and_text, vocabulary
from consumer_etl.keywords import KeywordSpec, build_matcher, load_keywords
from consumer_etl.settings import DEFAULT_KEYWORDS_FILE, DEFAULT_STOPWORDS_FILE
from consumer_etl.text import load_stopwords
from etl_day_bench import _mentions

CHINESE_KEYWORDS = {
    "台风": ["颱風"],
    "芯片": ["半导体"],
    "人工智能": ["AI"],
    "新能源汽车": ["电动车"],
    "拉面": ["拉麵"],
}
HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"  # noqa: E501


def baseline_text(ref: str) -> ModuleType:
    """The ``text`` module of ``ref`` (a git revision), imported from a temporary file."""
    source = subprocess.run(
        ["git", "show", f"{ref}:consumer_etl/src/consumer_etl/text.py"], check=True, capture_output=True, text=True
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8") as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location("baseline_text", handle.name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def latin_documents(count: int, words: int, rng: random.Random) -> list[tuple[str, str]]:
    """(title, text) pairs like the ETL day benchmark's."""
    latin, mentions = vocabulary(rng), _mentions()
    return [title_and_text(rng, latin, mentions, words) for _ in range(count)]


def chinese_documents(count: int, characters: int, rng: random.Random) -> list[tuple[str, str]]:
    """(title, text) pairs of Chinese running text, about ``characters`` long, with keyword mentions."""
    mentions = [word for keyword, aliases in CHINESE_KEYWORDS.items() for word in (keyword, *aliases)]

    def sentence() -> str:
        return "".join(rng.choices(HAN, k=rng.randint(8, 20))) + rng.choice("，。；")

    documents = []
    for _ in range(count):
        parts = [sentence() for _ in range(max(1, characters // 14))]
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            parts.insert(rng.randrange(len(parts) + 1), rng.choice(mentions))
        documents.append((sentence(), "".join(parts)))
    return documents


def run(matcher: Any, documents: list[tuple[str, str]]) -> tuple[float, int]:
    """Seconds to match every document, and the number of (document, keyword) matches."""
    started = time.perf_counter()
    found = sum(len(matcher.match(title, text)) for title, text in documents)
    return time.perf_counter() - started, found


def main() -> None:
    """Measure and print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--words", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default="main", help="git revision of the baseline matcher")
    options = parser.parse_args()
    rng = random.Random(7)  # noqa: S311 - reproducible test data
    stopwords = load_stopwords(DEFAULT_STOPWORDS_FILE)
    specs = load_keywords(DEFAULT_KEYWORDS_FILE)
    old_text = baseline_text(options.baseline)
    old_stopwords = old_text.load_stopwords(DEFAULT_STOPWORDS_FILE)

    def old_matcher(specs: list[KeywordSpec]) -> Any:
        phrases = {
            s.keyword: [tuple(old_text.tokens(t, old_stopwords)) for t in (s.keyword, *s.aliases)] for s in specs
        }
        return old_text.KeywordMatcher(phrases, old_stopwords)

    latin = latin_documents(options.documents, options.words, rng)
    new, old = build_matcher(specs, stopwords), old_matcher(specs)
    best = {"baseline": float("inf"), "new": float("inf")}
    found = {}
    for _ in range(options.rounds):
        for name, matcher in (("baseline", old), ("new", new)):
            seconds, found[name] = run(matcher, latin)
            best[name] = min(best[name], seconds)
    chinese = chinese_documents(options.documents, options.words * 2, rng)
    zh_specs = [KeywordSpec(keyword=k, aliases=tuple(a)) for k, a in CHINESE_KEYWORDS.items()]
    zh_seconds, zh_found = min(run(build_matcher(zh_specs, stopwords), chinese) for _ in range(options.rounds))
    zh_old_seconds, zh_old_found = run(old_matcher(zh_specs), chinese)
    print(
        json.dumps(
            {
                "documents": options.documents,
                "latin": {
                    "baseline_seconds": round(best["baseline"], 2),
                    "new_seconds": round(best["new"], 2),
                    "ratio_new_over_baseline": round(best["new"] / best["baseline"], 3),
                    "matches": found,
                },
                "chinese": {
                    "new_seconds": round(zh_seconds, 2),
                    "documents_per_second": round(options.documents / zh_seconds),
                    "matches": zh_found,
                    "baseline_matches": zh_old_found,
                    "baseline_seconds": round(zh_old_seconds, 2),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
