"""Text rules of keyword mapping: normalisation, tokens, stopwords, and phrase matching.

1. **Normalise**: Unicode compatibility forms folded (NFKC: full-width ``Ａｂｃ`` is
   ``abc``, half-width ``ｶﾀｶﾅ`` is ``カタカナ``), accents dropped, case folded.
   ``"Élection"``, ``"ELECTION"`` and ``"election"`` are the same; so are ``"ﬁle"`` and
   ``"file"``, and ``"Straße"`` and ``"strasse"``. Japanese voiced kana (``が``) and
   Korean syllables are kept whole.
2. **Tokenise**: runs of word characters (letters, digits, underscore), optionally
   followed by ``+`` or ``#`` so that ``c++`` and ``c#`` stay whole. Everything else
   separates tokens: ``"node.js"`` is ``node js``, ``"open-source"`` is ``open source``.
   A change between a CJK script (Chinese, Japanese kana, Korean Hangul) and any other
   script separates tokens too: ``"我用Java写代码"`` is ``我用 java 写代码``.
3. **Stopwords** are removed from documents *and* from keyword phrases, so a phrase
   matches across them: ``"state of the art"`` matches ``"state-of-the-art"`` and
   ``"state of art"``. A keyword or alias made only of stopwords could never match and
   is refused when the keywords file is loaded. Phrases written in a CJK script keep
   their stopwords and are matched against the text with its stopwords, so a stopword
   list never cuts a CJK phrase (``的`` in a stopwords file does not break ``我的世界``).
4. **Match**: a Latin phrase (a keyword or one of its aliases, tokenised the same way)
   matches a document when its tokens appear consecutively in the document's tokens:
   whole words only, ``java`` never matches ``javascript``. A phrase containing CJK
   characters matches *inside* running text, since these scripts are written without
   spaces: ``拉麵`` matches ``我今天吃了拉麵，很好吃``; its Latin ends still need a word
   boundary (``iphone发布`` matches ``新iPhone发布会`` but not ``xiphone发布``).
   There is no stemming or segmentation: list plural forms, Traditional/Simplified
   variants (``拉麵``/``拉面``) and other spellings as aliases.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import ahocorasick

from consumer_etl.errors import StopwordsFileError

TOKEN = re.compile(r"\w+[+#]*")
# Scripts written without spaces: Han, kana, Hangul (syllables and jamo), iteration marks.
CJK_CHARS = (
    "\u1100-\u11ff\u3005-\u3007\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\U00020000-\U0003134f"
)
CJK_RUN = re.compile(f"[{CJK_CHARS}]+")
CJK_CHAR = re.compile(f"[{CJK_CHARS}]")

# Most accents are in "Combining Diacritical Marks"; a one-range class removes them fast.
LATIN_MARKS = re.compile("[\u0300-\u036f]+")
# Kana voicing marks are letters of their own in Japanese, not accents: kept (and recomposed).
KANA_MARKS = {0x3099, 0x309A}
# str.translate table deleting every other combining mark; ASCII maps to itself so that lookups hit.
STRIP_MARKS: dict[int, int | None] = {
    **{code: code for code in range(128)},
    **{code: None for code in range(sys.maxunicode + 1) if unicodedata.combining(chr(code)) and code not in KANA_MARKS},
}

Phrase = tuple[str, ...]


def normalise(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` (NFKD, accents dropped, casefolded, recomposed)."""
    if text.isascii():
        return text.lower()
    stripped = LATIN_MARKS.sub("", unicodedata.normalize("NFKD", text))
    if not stripped.isascii():
        stripped = stripped.translate(STRIP_MARKS)
    folded = stripped.casefold()
    if folded.isascii():
        return folded
    return unicodedata.normalize("NFC", folded.translate(STRIP_MARKS))


def _split(folded: str) -> list[str]:
    """Tokens of normalised text, CJK runs apart from the words of other scripts."""
    if folded.isascii():
        return TOKEN.findall(folded)
    return TOKEN.findall(CJK_RUN.sub(r" \g<0> ", folded))


def tokens(text: str, stopwords: frozenset[str] = frozenset()) -> list[str]:
    """The normalised tokens of ``text``, in order, without stopwords."""
    found = _split(normalise(text))
    if not stopwords:
        return found
    return [token for token in found if token not in stopwords]


def is_cjk(phrase: Sequence[str]) -> bool:
    """Whether a phrase contains CJK characters (and so matches inside running text)."""
    return any(CJK_CHAR.search(token) for token in phrase)


def make_phrase(text: str, stopwords: frozenset[str] = frozenset()) -> Phrase:
    """The phrase a keyword or alias stands for: its tokens, without stopwords unless it is CJK."""
    every = tuple(_split(normalise(text)))
    if is_cjk(every):
        return every
    return tuple(token for token in every if token not in stopwords)


def load_stopwords(path: Path) -> frozenset[str]:
    """Stopwords from a file: one per line, blank lines and ``#`` comments ignored, normalised."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise StopwordsFileError(f"cannot read the stopwords file {path}: {exc}") from None
    words: set[str] = set()
    for line in lines:
        entry = line.split("#", 1)[0].strip()
        if entry:
            words.update(_split(normalise(entry)))
    return frozenset(words)


class KeywordMatcher:
    """Finds which keywords a document mentions, each keyword given as one or more phrases."""

    def __init__(self, phrases: Mapping[str, Iterable[Phrase]], stopwords: frozenset[str] = frozenset()) -> None:
        self.stopwords = stopwords
        self.keywords = tuple(phrases)
        self._single: dict[str, set[str]] = {}
        self._multi: dict[str, list[tuple[Phrase, str]]] = {}
        # CJK phrases: an Aho-Corasick automaton over the space-joined tokens of a text.
        self._cjk: ahocorasick.Automaton | None = None
        cjk: dict[str, list[tuple[str, bool, bool]]] = {}
        for keyword, keyword_phrases in phrases.items():
            for phrase in set(keyword_phrases):
                if not phrase:
                    raise ValueError(f"keyword {keyword!r} has an empty phrase")
                if is_cjk(phrase):
                    key = " ".join(phrase)
                    edges = (not CJK_CHAR.match(key[0]), not CJK_CHAR.match(key[-1]))
                    cjk.setdefault(key, []).append((keyword, *edges))
                elif len(phrase) == 1:
                    self._single.setdefault(phrase[0], set()).add(keyword)
                else:
                    self._multi.setdefault(phrase[0], []).append((phrase, keyword))
        if cjk:
            automaton = ahocorasick.Automaton()
            for key, targets in cjk.items():
                automaton.add_word(key, (len(key), tuple(targets)))
            automaton.make_automaton()
            self._cjk = automaton

    def phrase(self, text: str) -> Phrase:
        """The phrase a keyword or alias stands for (see ``make_phrase``)."""
        return make_phrase(text, self.stopwords)

    def match_tokens(self, document: Sequence[str]) -> set[str]:
        """The keywords whose Latin phrases occur in a document's tokens (stopwords removed)."""
        present = set(document)
        found: set[str] = set()
        for token in present.intersection(self._single):
            found |= self._single[token]
        for first in present.intersection(self._multi):
            for phrase, keyword in self._multi[first]:
                if keyword not in found and present.issuperset(phrase) and _contains(document, phrase):
                    found.add(keyword)
        return found

    def match_cjk(self, document: Sequence[str]) -> set[str]:
        """The keywords whose CJK phrases occur in a document's tokens (stopwords kept)."""
        found: set[str] = set()
        if self._cjk is None:
            return found
        joined = " ".join(document)
        last = len(joined) - 1
        for end, (size, targets) in self._cjk.iter(joined):
            start = end - size + 1
            for keyword, latin_start, latin_end in targets:
                if latin_start and start > 0 and joined[start - 1] != " ":
                    continue
                if latin_end and end < last and joined[end + 1] != " ":
                    continue
                found.add(keyword)
        return found

    def match(self, *texts: str | None) -> set[str]:
        """The keywords mentioned anywhere in the given texts (for example a title and a body)."""
        found: set[str] = set()
        stopwords = self.stopwords
        for text in texts:
            if not text:
                continue
            folded = normalise(text)
            every = _split(folded)
            document = [token for token in every if token not in stopwords] if stopwords else every
            found |= self.match_tokens(document)
            if self._cjk is not None and not folded.isascii():
                found |= self.match_cjk(every)
        return found


def _contains(document: Sequence[str], phrase: Phrase) -> bool:
    """Whether ``phrase`` occurs as consecutive tokens of ``document``."""
    first, size = phrase[0], len(phrase)
    start = 0
    last = len(document) - size
    while start <= last:
        try:
            start = document.index(first, start, last + 1)
        except ValueError:
            return False
        if tuple(document[start : start + size]) == phrase:
            return True
        start += 1
    return False
