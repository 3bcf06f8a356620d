"""Text rules of keyword mapping: normalisation, tokens, stopwords, and phrase matching.

1. **Normalise**: Unicode NFKD, combining marks dropped, case folded. ``"Élection"``,
   ``"ELECTION"`` and ``"election"`` are the same; so are ``"ﬁle"`` and ``"file"``, and
   ``"Straße"`` and ``"strasse"``.
2. **Tokenise**: runs of word characters (letters, digits, underscore), optionally
   followed by ``+`` or ``#`` so that ``c++`` and ``c#`` stay whole. Everything else
   separates tokens: ``"node.js"`` is ``node js``, ``"open-source"`` is ``open source``.
3. **Stopwords** are removed from documents *and* from keyword phrases, so a phrase
   matches across them: ``"state of the art"`` matches ``"state-of-the-art"`` and
   ``"state of art"``. A keyword or alias made only of stopwords could never match and
   is refused when the keywords file is loaded.
4. **Match**: a phrase (a keyword or one of its aliases, tokenised the same way)
   matches a document when its tokens appear consecutively in the document's tokens.
   There is no stemming: list plural forms as aliases.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from consumer_etl.errors import StopwordsFileError

TOKEN = re.compile(r"\w+[+#]*")


# Most accents are in "Combining Diacritical Marks"; a one-range class removes them fast.
LATIN_MARKS = re.compile("[\u0300-\u036f]+")
# str.translate table deleting every combining mark; ASCII maps to itself so that lookups hit.
STRIP_MARKS: dict[int, int | None] = {
    **{code: code for code in range(128)},
    **{code: None for code in range(sys.maxunicode + 1) if unicodedata.combining(chr(code))},
}

Phrase = tuple[str, ...]


def normalise(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` (NFKD, combining marks dropped, casefolded)."""
    if text.isascii():
        return text.lower()
    stripped = LATIN_MARKS.sub("", unicodedata.normalize("NFKD", text))
    if not stripped.isascii():
        stripped = stripped.translate(STRIP_MARKS)
    folded = stripped.casefold()
    return folded if folded.isascii() else folded.translate(STRIP_MARKS)


def tokens(text: str, stopwords: frozenset[str] = frozenset()) -> list[str]:
    """The normalised tokens of ``text``, in order, without stopwords."""
    found = TOKEN.findall(normalise(text))
    if not stopwords:
        return found
    return [token for token in found if token not in stopwords]


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
            words.update(TOKEN.findall(normalise(entry)))
    return frozenset(words)


class KeywordMatcher:
    """Finds which keywords a document mentions, each keyword given as one or more phrases."""

    def __init__(self, phrases: Mapping[str, Iterable[Phrase]], stopwords: frozenset[str] = frozenset()) -> None:
        self.stopwords = stopwords
        self.keywords = tuple(phrases)
        self._single: dict[str, set[str]] = {}
        self._multi: dict[str, list[tuple[Phrase, str]]] = {}
        for keyword, keyword_phrases in phrases.items():
            for phrase in set(keyword_phrases):
                if not phrase:
                    raise ValueError(f"keyword {keyword!r} has an empty phrase")
                if len(phrase) == 1:
                    self._single.setdefault(phrase[0], set()).add(keyword)
                else:
                    self._multi.setdefault(phrase[0], []).append((phrase, keyword))

    def phrase(self, text: str) -> Phrase:
        """The phrase a keyword or alias stands for: its tokens without stopwords."""
        return tuple(tokens(text, self.stopwords))

    def match_tokens(self, document: Sequence[str]) -> set[str]:
        """The keywords whose phrases occur in a document's tokens."""
        present = set(document)
        found: set[str] = set()
        for token in present.intersection(self._single):
            found |= self._single[token]
        for first in present.intersection(self._multi):
            for phrase, keyword in self._multi[first]:
                if keyword not in found and present.issuperset(phrase) and _contains(document, phrase):
                    found.add(keyword)
        return found

    def match(self, *texts: str | None) -> set[str]:
        """The keywords mentioned anywhere in the given texts (for example a title and a body)."""
        found: set[str] = set()
        for text in texts:
            if text:
                found |= self.match_tokens(tokens(text, self.stopwords))
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
