"""The tracked keywords: read from the keywords file, checked, and synced into ``TrackedKeyword``.

The file (``ETL_KEYWORDS_FILE``, a bundled default otherwise) is JSON::

    {"keywords": [{"keyword": "rabbitmq", "aliases": ["rabbit mq"]}, ...]}

Syncing makes the table match the file: new keywords are inserted, changed aliases
updated, and keywords no longer in the file marked inactive (their counts are kept, and
they are counted again if they come back). Inactive keywords are neither mapped nor judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from consumer_etl.errors import KeywordsFileError
from consumer_etl.text import KeywordMatcher, Phrase, load_stopwords, make_phrase
from task_storage import TrackedKeyword, upsert


class KeywordSpec(BaseModel):
    """One tracked keyword and its aliases, as written in the keywords file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keyword: str = Field(min_length=1, max_length=200)
    aliases: tuple[str, ...] = ()

    @field_validator("keyword")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("keyword is blank")
        return value

    @field_validator("aliases")
    @classmethod
    def _clean_aliases(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(dict.fromkeys(alias.strip() for alias in value))
        if any(not alias for alias in cleaned):
            raise ValueError("an alias is blank")
        return cleaned


class KeywordsFile(BaseModel):
    """The whole keywords file."""

    model_config = ConfigDict(extra="forbid")

    keywords: list[KeywordSpec] = Field(max_length=10_000)


def load_keywords(path: Path) -> list[KeywordSpec]:
    """The keywords of a file, refusing duplicates; KeywordsFileError naming the file and the problem."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeywordsFileError(f"cannot read the keywords file {path} (ETL_KEYWORDS_FILE): {exc}") from None
    try:
        specs = KeywordsFile.model_validate_json(raw).keywords
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '(file)'}: {item['msg']}" for item in exc.errors()[:10]
        )
        raise KeywordsFileError(f"invalid keywords file {path}: {problems}") from None
    seen: set[str] = set()
    for spec in specs:
        if spec.keyword in seen:
            raise KeywordsFileError(f"invalid keywords file {path}: keyword {spec.keyword!r} is listed twice")
        seen.add(spec.keyword)
    return specs


def build_matcher(specs: Sequence[KeywordSpec], stopwords: frozenset[str]) -> KeywordMatcher:
    """A matcher for the keywords; KeywordsFileError when a keyword or alias is only stopwords."""
    phrases: dict[str, list[Phrase]] = {}
    for spec in specs:
        keyword_phrases = []
        for text in (spec.keyword, *spec.aliases):
            phrase = make_phrase(text, stopwords)
            if not phrase:
                raise KeywordsFileError(
                    f"keyword {spec.keyword!r}: {text!r} is made only of stopwords or punctuation and can never match"
                )
            keyword_phrases.append(phrase)
        phrases[spec.keyword] = keyword_phrases
    return KeywordMatcher(phrases, stopwords)


class KeywordSource:
    """The keywords and stopwords files, re-read whenever either file changes."""

    def __init__(self, keywords_file: Path, stopwords_file: Path) -> None:
        self.keywords_file = keywords_file
        self.stopwords_file = stopwords_file
        self._stamp: tuple[object, ...] | None = None
        self._specs: list[KeywordSpec] = []
        self._matcher: KeywordMatcher | None = None

    def _current_stamp(self) -> tuple[object, ...]:
        stamp: list[object] = []
        for path in (self.keywords_file, self.stopwords_file):
            try:
                status = path.stat()
            except OSError:
                stamp.append(None)
            else:
                stamp.append((status.st_mtime_ns, status.st_size, status.st_ino))
        return tuple(stamp)

    def load(self) -> tuple[list[KeywordSpec], KeywordMatcher]:
        """The keyword specs and their matcher, from cache unless a file changed."""
        stamp = self._current_stamp()
        if self._matcher is None or stamp != self._stamp:
            specs = load_keywords(self.keywords_file)
            self._matcher = build_matcher(specs, load_stopwords(self.stopwords_file))
            self._specs = specs
            self._stamp = stamp
        return self._specs, self._matcher


def sync_keywords(engine: Engine, specs: Sequence[KeywordSpec]) -> dict[str, int]:
    """Make TrackedKeyword match the specs (writing only what changed); returns the active keywords' ids."""
    wanted = {spec.keyword: list(spec.aliases) for spec in specs}
    with Session(engine) as session:
        current = {row.keyword: row for row in session.scalars(select(TrackedKeyword))}
        stale = [name for name, row in current.items() if row.active and name not in wanted]
        changed = [
            name
            for name, aliases in wanted.items()
            if name not in current or current[name].aliases != aliases or not current[name].active
        ]
        session.expunge_all()
    if stale or changed:
        with Session(engine) as session, session.begin():
            upsert(
                session,
                TrackedKeyword,
                [{"keyword": name, "aliases": wanted[name], "active": True} for name in changed],
                keys=["keyword"],
                update_columns=["aliases", "active"],
            )
            if stale:
                session.execute(update(TrackedKeyword).where(TrackedKeyword.keyword.in_(stale)).values(active=False))
    with Session(engine) as session:
        rows = session.execute(
            select(TrackedKeyword.keyword, TrackedKeyword.id).where(TrackedKeyword.keyword.in_(list(wanted)))
        )
        return {name: identifier for name, identifier in rows}
