"""What a person typed in the search box, read as a query; pure, for both databases.

The box takes words, "quoted phrases", -excluded words, OR between alternatives, and a request's
number ("#123" or "123"). Nothing typed is passed to a full-text engine as syntax: the text is
split into words (runs of letters and digits), and each engine's query is built from those words,
each one quoted. So quotes, `*`, `NEAR`, `-`, `:`, parentheses, NUL or a wall of punctuation are
only separators, never operators, and can never make a query fail.

The last word typed is matched as the start of a word ("polic" finds "policy"), as a person
reads a search box that answers while they type.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from followthrough.fields import MAX_ID

# Longer input is refused (the API names `q`; the page says so beside the box): no one types
# it, and every word is work for the database.
MAX_QUERY_LENGTH = 200
# Words beyond these are ignored: a query of more is a pasted paragraph, not a search.
MAX_TERMS = 12
# A one-letter prefix would match most of the vocabulary; the FTS5 prefix index starts at two.
MIN_PREFIX = 2

_WORD = re.compile(r"[^\W_]+")  # letters and digits; "_" and punctuation separate words
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_REQUEST_NUMBER = re.compile(r"^#?\s*(\d{1,10})$")


@dataclass(frozen=True)
class Term:
    """One word, or a phrase of words that must appear together in this order."""

    words: tuple[str, ...]
    prefix: bool = False  # the last word also matches longer words that start with it
    # As typed (quotes taken out): PostgreSQL's parser reads "CLM-4417" as 'clm' and '-4417',
    # so it gets the text itself, which its own parser splits as it split the documents.
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class SearchQuery:
    """A parsed query: any one group (OR) of terms that must all match (AND), and none of the
    excluded terms; or a request's number."""

    text: str
    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...]
    request_id: int | None

    @property
    def is_empty(self) -> bool:
        """Nothing to look for: no words (or only excluded ones) and no request number."""
        return not self.groups and self.request_id is None

    @property
    def words(self) -> tuple[str, ...]:
        """Every word the results must match somewhere, in the order typed (for highlighting
        and for the plain word search of people and cases)."""
        seen: dict[str, None] = {}
        for group in self.groups:
            for term in group:
                seen.update(dict.fromkeys(term.words))
        return tuple(seen)

    @property
    def prefixes(self) -> frozenset[str]:
        return frozenset(t.words[-1] for g in self.groups for t in g if t.prefix)


def words_of(text: str) -> tuple[str, ...]:
    """The words of `text` as the search reads them: letters and digits, case-folded and
    without accents (as SQLite's index reads them: "Café" is "cafe"; folding "İ" must give
    "i", not "i" and a stray dot that would cut the word in two)."""
    return tuple(_WORD.findall(_fold(text)))


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()  # the same, far cheaper: most text is ASCII
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def parse(text: str) -> SearchQuery:
    """Read what was typed. Never fails: whatever cannot be read as a word is a separator."""
    text = text.replace("\x00", " ").strip()
    number = _REQUEST_NUMBER.match(text)
    request_id = int(number[1]) if number and 1 <= int(number[1]) <= MAX_ID else None
    groups: list[list[Term]] = [[]]
    excluded: list[Term] = []
    kept = 0
    last_bare: tuple[int, int] | None = None  # (group, position) of the last unquoted word
    for match in _TOKEN.finditer(text):
        if kept >= MAX_TERMS:
            break
        minus, quoted, bare = match.group(1), match.group(2), match.group(3)
        if bare == "OR":
            if groups[-1]:
                groups.append([])
            continue
        if bare is not None and bare.startswith("-") and len(bare) > 1:
            minus, bare = "-", bare[1:]
        words = words_of(quoted if quoted is not None else bare or "")
        if not words:
            continue
        kept += 1
        term = Term(words, source=(quoted if quoted is not None else bare or "").replace('"', ""))
        if minus:
            excluded.append(term)
            continue
        groups[-1].append(term)
        single_bare = quoted is None and len(words) == 1
        last_bare = (len(groups) - 1, len(groups[-1]) - 1) if single_bare else None
    if last_bare is not None:
        g, i = last_bare
        term = groups[g][i]
        if g == len(groups) - 1 and i == len(groups[g]) - 1 and len(term.words[0]) >= MIN_PREFIX:
            groups[g][i] = Term(term.words, prefix=True, source=term.source)
    kept_groups = tuple(tuple(g) for g in groups if g)
    return SearchQuery(text, kept_groups, tuple(excluded), request_id)


# ---- SQLite FTS5 ------------------------------------------------------------------------------


def _fts5_term(term: Term) -> str:
    quoted = '"' + " ".join(term.words).replace('"', '""') + '"'
    return quoted + ("*" if term.prefix else "")


def fts5_match(query: SearchQuery) -> str:
    """The FTS5 MATCH expression: every word a quoted string, so none is read as syntax.
    Empty when the query has no words to look for."""
    if not query.groups:
        return ""
    alternatives = [" AND ".join(_fts5_term(t) for t in group) for group in query.groups]
    expression = " OR ".join(f"({a})" for a in alternatives)
    for term in query.excluded:
        expression = f"({expression}) NOT {_fts5_term(term)}"
    return expression


# ---- PostgreSQL ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TsGroup:
    """One alternative for PostgreSQL: text for `websearch_to_tsquery` (its quoted phrases and
    words, rebuilt from the parsed words only) and the word to match as a prefix, if any."""

    websearch: str
    prefix: str | None


def _websearch_term(term: Term) -> str:
    """Each term quoted, so that `websearch_to_tsquery` reads none of it as an operator (a
    quoted single word is that word; a typed "or" stays a word, as it is for SQLite)."""
    return f'"{term.source or " ".join(term.words)}"'


def ts_groups(query: SearchQuery) -> tuple[tuple[TsGroup, ...], str]:
    """The alternatives, and the excluded terms as one websearch text ('' when none)."""
    groups = tuple(
        TsGroup(
            " ".join(_websearch_term(t) for t in group if not t.prefix),
            next((t.words[0] for t in group if t.prefix), None),
        )
        for group in query.groups
    )
    # Negated as one: NOT (a OR b) is neither a nor b.
    return groups, " or ".join(_websearch_term(t) for t in query.excluded)


def prefix_tsquery(word: str) -> str:
    """`to_tsquery` text matching words that start with `word` (letters and digits only, so the
    quoting cannot be escaped)."""
    assert _WORD.fullmatch(word), word
    return f"'{word}':*"


_PREFIX_LEXEME = re.compile(r"'([^\W_]+)':\*")


def prefix_lexeme(tsquery_text: str) -> str | None:
    """The lexeme of PostgreSQL's text of a one-prefix tsquery (`'polic':*` gives `polic`, as
    the word typed came out of the dictionary); None for anything else (a stop word gives an
    empty query)."""
    found = _PREFIX_LEXEME.fullmatch(tsquery_text)
    return found[1] if found else None


def words_beginning(prefix: str, common: Iterable[str], most: int) -> tuple[str, ...]:
    """Some of the words a prefix search for `prefix` finds: the prefix itself as a whole word,
    then the `common` words (most frequent first) that begin with it, `most` in all; words
    of letters and digits only, so each can be quoted as it is."""
    if not prefix.isalnum():
        return ()
    longer = (w for w in common if w != prefix and w.startswith(prefix) and w.isalnum())
    return (prefix, *list(longer)[: max(0, most - 1)])


def any_of_tsquery(words: Iterable[str]) -> str:
    """tsquery text (for a cast, which does not stem again) matching any of `words`, lexemes of
    letters and digits."""
    chosen = list(words)
    assert chosen, "no words"
    assert all(w.isalnum() for w in chosen), chosen
    return " | ".join(f"'{w}'" for w in chosen)


# ---- counting and ranking ----------------------------------------------------------------------

# Counting stops here. A count costs a read per match (PostgreSQL visits a table row for each;
# FTS5 walks each match), so an exact count of a common word at a million requests is the
# slowest part of a search; past this a person is told there are more and asked to narrow it,
# and the results come newest first.
COUNT_LIMIT = 1000


def worth_reading_newest(found: int, sampled: int, budget: int, wanted: int) -> bool:
    """Whether to look for the newest `wanted` matches by reading up to `budget` of the newest
    documents one by one, having found `found` matches among the newest `sampled`.

    Reading a document and testing it costs about the same whether it matches or not, so this
    pays only when matches are dense among the newest; an index search instead gathers every
    match of its words across the desk before anything can stop it. Read when, at the density
    seen, the budget would hold twice the matches wanted: a search that turns out sparser than
    its sample wastes at most the budget, then asks the index."""
    if sampled <= 0 or budget <= 0:
        return False
    return found * budget >= 2 * wanted * sampled


def may_be_over_limit(found: int, sampled: int, documents: float) -> bool:
    """Whether a search may well match more than `COUNT_LIMIT` of about `documents` documents,
    having found `found` among `sampled` of them: at the density seen, at least half the limit
    plus one. Not known how many documents there are (0 or less), or nothing sampled: it may."""
    if documents <= 0 or sampled <= 0:
        return True
    return found * documents * 2 >= (COUNT_LIMIT + 1) * sampled


def shown_count(total: int, capped: bool) -> str:
    """A result count as a page shows it: exact, or "1,000+" when counting stopped there."""
    return f"{total:,}+" if capped else f"{total:,}"


def relevance_order(candidates: Iterable[tuple[int, str, str]], query: SearchQuery) -> list[int]:
    """Request ids best first, from (id, title, case references and customers): the more of the
    words typed its title holds, the better; then the more its cases hold; the rest hold the
    words in their text. Within each, the most recently raised (highest number) first. One rule
    for both databases (their own rankings, BM25 and ts_rank, cost a walk of the whole index at
    a million requests, and weigh differently)."""
    stems = sorted({_stem(word) for word in query.words}, key=len, reverse=True)
    if not stems:
        return sorted((request_id for request_id, _, _ in candidates), reverse=True)
    # A stem at the start of a word (nothing of a word just before it).
    starts = re.compile(r"(?<![^\W_])(?:" + "|".join(map(re.escape, stems)) + ")")

    def held(text: str) -> int:
        return len(set(starts.findall(_fold(text))))

    ranked = sorted(candidates, key=lambda c: (-held(c[1]), -held(c[2]), -c[0]))
    return [request_id for request_id, _, _ in ranked]


# ---- showing where it matched -----------------------------------------------------------------

Span = tuple[int, int]

SNIPPET_WORDS = 28


def _stem(word: str) -> str:
    """Enough of a word to recognise its other forms (refund, refunds, refunded; policy,
    policies), as the engines' stemming does; short words must match from their start."""
    return word if len(word) <= 4 else word[: max(4, len(word) - 3)]


def highlights(text: str, query: SearchQuery) -> list[Span]:
    """Where the query's words appear in `text`: (start, end) of each matching word."""
    stems = tuple(_stem(w) for w in query.words)
    if not stems:
        return []
    return [
        (m.start(), m.end()) for m in _WORD.finditer(text) if _fold(m.group()).startswith(stems)
    ]


def snippet(text: str, query: SearchQuery, words: int = SNIPPET_WORDS) -> str:
    """About `words` words of `text` around the first match (the start when nothing matches),
    with an ellipsis where it was cut."""
    tokens = list(re.finditer(r"\S+", text))
    if len(tokens) <= words:
        return " ".join(t.group() for t in tokens)
    marks = highlights(text, query)
    first = 0
    if marks:
        start = marks[0][0]
        first = next((i for i, t in enumerate(tokens) if t.end() > start), 0)
    begin = max(0, min(first - words // 3, len(tokens) - words))
    chosen = " ".join(t.group() for t in tokens[begin : begin + words])
    return ("… " if begin > 0 else "") + chosen + (" …" if begin + words < len(tokens) else "")


def segments(text: str, marks: list[Span]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_match) for display; the page escapes every piece."""
    pieces: list[tuple[str, bool]] = []
    at = 0
    for start, end in marks:
        if start > at:
            pieces.append((text[at:start], False))
        pieces.append((text[start:end], True))
        at = end
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces
