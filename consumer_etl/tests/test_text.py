"""Mapping rules: normalisation, tokens, stopwords, aliases and multi-word phrases."""

import json

import pytest
from consumer_etl.errors import KeywordsFileError, StopwordsFileError
from consumer_etl.keywords import KeywordSource, KeywordSpec, build_matcher, load_keywords
from consumer_etl.settings import DEFAULT_KEYWORDS_FILE, DEFAULT_STOPWORDS_FILE
from consumer_etl.text import load_stopwords, normalise, tokens

STOPWORDS = load_stopwords(DEFAULT_STOPWORDS_FILE)


def matcher(keywords: dict[str, list[str]]):
    specs = [KeywordSpec(keyword=k, aliases=tuple(a)) for k, a in keywords.items()]
    return build_matcher(specs, STOPWORDS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RabbitMQ", "rabbitmq"),
        ("Élection présidentielle", "election presidentielle"),
        ("CAFÉ Ñandú", "cafe nandu"),
        ("ﬁle", "file"),
        ("Straße", "strasse"),
        ("İstanbul", "istanbul"),
        ("\uff21\uff42\uff43", "abc"),  # fullwidth letters
    ],
)
def test_normalise_folds_case_accents_and_compatibility_forms(text, expected):
    assert normalise(text) == expected


def test_tokens_split_on_punctuation_keep_cpp_and_drop_stopwords():
    assert tokens("Node.js, C++ and C# — state-of-the-art!") == [
        "node",
        "js",
        "c++",
        "and",
        "c#",
        "state",
        "of",
        "the",
        "art",
    ]
    assert tokens("The state of the art is in Node.js", STOPWORDS) == ["state", "art", "node", "js"]


def test_matching_is_case_and_accent_insensitive_both_ways():
    m = matcher({"café": [], "election": []})
    assert m.match("Un CAFE noir") == {"café"}
    assert m.match("le Café") == {"café"}
    assert m.match("ÉLECTIONS, élection!") == {"election"}
    assert m.match("cafeteria") == set()


def test_whole_tokens_only():
    m = matcher({"rust": [], "ai": []})
    assert m.match("I trust rusty nails, said Aidan") == set()
    assert m.match("Rust 1.80 released; AI news") == {"rust", "ai"}


def test_aliases_count_for_their_keyword():
    m = matcher({"kubernetes": ["k8s"], "postgresql": ["postgres"]})
    assert m.match("Running K8S on Postgres") == {"kubernetes", "postgresql"}
    assert m.match("nothing here") == set()


def test_multi_word_aliases_need_consecutive_tokens():
    m = matcher({"rabbitmq": ["rabbit mq"], "machine learning": ["ml"]})
    assert m.match("We run Rabbit-MQ in production") == {"rabbitmq"}
    assert m.match("rabbit\nMQ") == {"rabbitmq"}
    assert m.match("a rabbit ate the mq") == set()
    assert m.match("mq rabbit") == set()
    assert m.match("MACHINE   learning is fun") == {"machine learning"}
    assert m.match("learning machine") == set()


def test_stopwords_inside_phrases_are_ignored_on_both_sides():
    m = matcher({"state of the art": [], "bank of america": []})
    assert m.match("a State-of-the-Art design") == {"state of the art"}
    assert m.match("state of art") == {"state of the art"}
    assert m.match("Bank of the America") == {"bank of america"}
    assert m.match("state of the union, art") == set()


def test_phrase_repeated_first_token_is_found_later_in_the_document():
    m = matcher({"open source": []})
    assert m.match("open doors, open windows and open source code") == {"open source"}


def test_title_and_text_are_matched_separately():
    m = matcher({"linux kernel": []})
    assert m.match("About Linux", "kernel news") == set()
    assert m.match("Linux kernel 6.10", None) == {"linux kernel"}


def test_keyword_of_only_stopwords_is_refused(tmp_path):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"keywords": [{"keyword": "The Who", "aliases": []}]}))
    with pytest.raises(KeywordsFileError, match="only of stopwords"):
        build_matcher(load_keywords(path), STOPWORDS)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "invalid keywords file"),
        ('{"keywords": [{"keyword": "a1"}, {"keyword": "a1"}]}', "listed twice"),
        ('{"keywords": [{"keyword": "  "}]}', "keyword is blank"),
        ('{"keywords": [{"keyword": "x", "alias": ["y"]}]}', "Extra inputs are not permitted"),
        ('{"words": []}', "keywords: Field required"),
    ],
)
def test_invalid_keywords_files_are_refused_with_the_reason(tmp_path, content, message):
    path = tmp_path / "k.json"
    path.write_text(content)
    with pytest.raises(KeywordsFileError, match=message):
        load_keywords(path)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(KeywordsFileError, match="ETL_KEYWORDS_FILE"):
        load_keywords(tmp_path / "missing.json")
    with pytest.raises(StopwordsFileError, match="missing.txt"):
        load_stopwords(tmp_path / "missing.txt")


def test_bundled_files_load_and_every_keyword_can_match():
    specs = load_keywords(DEFAULT_KEYWORDS_FILE)
    m = build_matcher(specs, STOPWORDS)
    assert len(specs) >= 10
    for spec in specs:
        assert m.match(spec.keyword.upper()) >= {spec.keyword}
        for alias in spec.aliases:
            assert spec.keyword in m.match(f"news about {alias} today")
    assert {"the", "of", "and"} <= STOPWORDS


def test_keyword_source_rereads_a_changed_file(tmp_path):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"keywords": [{"keyword": "alpha"}]}))
    source = KeywordSource(path, DEFAULT_STOPWORDS_FILE)
    specs, m = source.load()
    assert [s.keyword for s in specs] == ["alpha"]
    assert source.load()[1] is m  # unchanged file: cached
    path.write_text(json.dumps({"keywords": [{"keyword": "beta", "aliases": ["gamma ray"]}]}))
    specs, m = source.load()
    assert [s.keyword for s in specs] == ["beta"]
    assert m.match("a Gamma-Ray burst") == {"beta"}


def test_custom_stopwords_file(tmp_path):
    stop = tmp_path / "stop.txt"
    stop.write_text("# comment\nLE\nla  # trailing comment\n\n")
    assert load_stopwords(stop) == frozenset({"le", "la"})


def test_cjk_text_is_split_from_other_scripts_not_into_words():
    assert tokens("我今天吃了拉麵，很好吃。") == ["我今天吃了拉麵", "很好吃"]
    assert tokens("我用Java写代码") == ["我用", "java", "写代码"]


def test_chinese_keywords_match_inside_running_text():
    m = matcher({"拉面": ["拉麵"], "人工智能": ["AI"]})
    assert m.match("我今天吃了拉麵，很好吃。") == {"拉面"}
    assert m.match("人工智能的发展很快") == {"人工智能"}
    assert m.match("今天的新闻：AI 芯片") == {"人工智能"}
    assert m.match("我今天吃了饺子") == set()


def test_japanese_and_korean_keywords_match_inside_running_text():
    m = matcher({"ラーメン": [], "東京": [], "학교": [], "がっこう": []})
    assert m.match("昨日、東京でラーメンを食べました") == {"ラーメン", "東京"}
    assert m.match("ﾗｰﾒﾝが好き") == {"ラーメン"}  # half-width katakana fold to full width
    assert m.match("저는 학교에서 공부합니다") == {"학교"}
    assert m.match("かっこういい") == set()  # voicing marks are letters, not accents
    assert m.match("がっこうへいく") == {"がっこう"}


def test_latin_keywords_keep_whole_word_matching_in_mixed_text():
    m = matcher({"java": [], "rabbitmq": []})
    assert m.match("我用Java写代码") == {"java"}
    assert m.match("我用JavaScript写代码") == set()
    assert m.match("RabbitMQ's queues") == {"rabbitmq"}
    assert m.match("javascript and rabbitmqx") == set()


def test_mixed_phrases_need_a_boundary_at_their_latin_ends():
    m = matcher({"iphone发布": []})
    assert m.match("新iPhone发布会") == {"iphone发布"}
    assert m.match("新 iPhone 发布会") == {"iphone发布"}
    assert m.match("xiphone发布") == set()


def test_full_width_forms_and_case_fold_in_cjk_text():
    m = matcher({"gpt模型": [], "５g": []})
    assert m.match("新的ＧＰＴ模型") == {"gpt模型"}
    assert m.match("中国的5G网络") == {"５g"}


def test_stopwords_do_not_break_cjk_phrases():
    chinese = frozenset({"的", "了"})
    m = build_matcher([KeywordSpec(keyword="我的世界", aliases=("我 的 世界",))], STOPWORDS | chinese)
    assert m.match("他在玩我的世界。") == {"我的世界"}
    assert m.match("他在玩我 的 世界。") == {"我的世界"}
    assert m.match("我世界") == set()
    assert m.phrase("我的世界") == ("我的世界",)
