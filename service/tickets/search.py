"""Text search over tickets: the terms a ticket is found by, and a query's terms.

Chinese has no spaces between words, and the words residents and dispatchers
search with are mostly two characters (漏水, 电梯, 暖气, 停水): too short for
trigrams (pg_trgm and SQLite's trigram tokenizer need three). Without a
segmenter the standard way is character bigrams: each run of CJK characters is
indexed as its overlapping pairs, plus its last character alone, so that every
character of the text starts some term; other scripts (Uyghur in Arabic or
Latin letters, English, digits) as lowercased words. The same function makes
the terms on both databases, stored in `ticket.search_terms` as one string:
PostgreSQL indexes it cast to a tsvector (GIN), SQLite in an FTS5 table
(unicode61 over the ready-made terms). bench/search.py measures it on 1M
tickets; bench/README.md has the figures and the comparison with trigrams.

A query matches the tickets that hold all of its terms: the bigrams of each run
of two or more CJK characters exactly, and a single CJK character or a word as
the start of a term (水 finds 水管 and 漏水; `elev` finds elevator; Uyghur
words take suffixes, سۇ finds سۇنى).

Searched: the title, the description and the location's building and unit: the
words of the report. Not the room, names or phones (private, and not what a
person searches for), nor comments or internal notes (staff only).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

# Han (with the extensions and compatibility ideographs), kana and hangul: the
# scripts written without spaces between words.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
_RUN = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>(?:(?![{_CJK}])[^\W_])+)")
# Longer words are cut (a query's too, so that they still match): nobody types
# more, and PostgreSQL refuses a tsvector lexeme over 2,047 bytes.
WORD_CHARS = 40


def _runs(text: str) -> Iterator[tuple[str, str]]:
    """(kind, run) of `text`, NFKC-normalised (full-width letters and digits,
    Arabic presentation forms) and case-folded: kind is "cjk" or "word"."""
    for match in _RUN.finditer(unicodedata.normalize("NFKC", text).casefold()):
        yield match.lastgroup or "", match.group()


def ticket_terms(
    title: str | None, description: str | None, building: str | None, unit: str | None
) -> str:
    """The terms a ticket is found by, space-separated: what `ticket.search_terms`
    holds. Each term is letters and digits only, so the string is a valid
    tsvector as it is (no quoting) and unicode61 splits it at the spaces."""
    terms: dict[str, None] = {}  # ordered and without repeats
    for text in (title, description, building, unit):
        if not text:
            continue
        for kind, run in _runs(text):
            if kind == "word":
                terms[run[:WORD_CHARS]] = None
                continue
            for i in range(len(run) - 1):
                terms[run[i : i + 2]] = None
            terms[run[-1]] = None
    return " ".join(terms)


def query_terms(q: str) -> list[tuple[str, bool]]:
    """(term, is a prefix) of a search: all must match. Empty when `q` has no
    letter or digit."""
    terms: dict[tuple[str, bool], None] = {}
    for kind, run in _runs(q):
        if kind == "word":
            terms[run[:WORD_CHARS], True] = None
        elif len(run) == 1:
            terms[run, True] = None
        else:
            for i in range(len(run) - 1):
                terms[run[i : i + 2], False] = None
    return list(terms)


def tsquery(terms: list[tuple[str, bool]]) -> str:
    """PostgreSQL: the terms as tsquery input (`'漏水' & 'led':*`). Terms are
    letters and digits only: quoting them needs no escape."""
    return " & ".join(f"'{term}'" + (":*" if prefix else "") for term, prefix in terms)


def fts5_query(terms: list[tuple[str, bool]]) -> str:
    """SQLite: the terms as an FTS5 query (`"漏水" "led"*`, all of them)."""
    return " ".join(f'"{term}"' + ("*" if prefix else "") for term, prefix in terms)
