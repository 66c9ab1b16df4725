"""Reading the search box: pure rules, tested directly (and with hypothesis for any input)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from followthrough.search import rules
from followthrough.search.rules import Term


def test_words_phrases_exclusions_alternatives_and_the_word_being_typed() -> None:
    query = rules.parse('"wrong address" refund -Jones OR polic')
    assert query.groups == (
        (Term(("wrong", "address")), Term(("refund",))),
        (Term(("polic",), prefix=True),),
    )
    assert query.excluded == (Term(("jones",)),)
    assert rules.fts5_match(query) == ('(("wrong address" AND "refund") OR ("polic"*)) NOT "jones"')
    groups, excluded = rules.ts_groups(query)
    assert groups == (
        rules.TsGroup('"wrong address" "refund"', None),
        rules.TsGroup("", "polic"),
    )
    assert excluded == '"Jones"'
    assert rules.ts_groups(rules.parse("x -a -b"))[1] == '"a" or "b"'


def test_a_reference_with_punctuation_is_one_phrase_and_a_number_is_a_request() -> None:
    assert rules.parse("CLM-90001").groups == ((Term(("clm", "90001")),),)
    assert rules.parse("#123").request_id == 123
    assert rules.parse("  123 ").request_id == 123
    assert rules.parse("123 456").request_id is None
    assert rules.parse("#99999999999").request_id is None  # beyond any id


def test_accents_and_case_fold_as_the_index_folds_them() -> None:
    assert rules.parse("Café İstanbul").words == ("cafe", "istanbul")


def test_only_punctuation_or_only_exclusions_look_for_nothing() -> None:
    for text in ("", "   ", '"*()-:^', "-refund", "OR OR", "\x00"):
        assert rules.parse(text).is_empty, text
        assert rules.fts5_match(rules.parse(text)) == ""


def test_a_one_letter_last_word_is_not_a_prefix() -> None:
    assert rules.parse("claim a").groups == ((Term(("claim",)), Term(("a",))),)


def test_matched_words_are_marked_in_their_other_forms() -> None:
    query = rules.parse("refund policies")
    text = "Refunded the POLICY; no refunds."
    marked = [text[a:b] for a, b in rules.highlights(text, query)]
    assert marked == ["Refunded", "POLICY", "refunds"]
    assert rules.segments("ab cd", [(3, 5)]) == [("ab ", False), ("cd", True)]


def test_a_snippet_is_cut_around_the_first_match() -> None:
    words = [f"w{i}" for i in range(100)]
    words[60] = "needle"
    shown = rules.snippet(" ".join(words), rules.parse("needle"), words=10)
    assert shown.startswith("… ")
    assert shown.endswith(" …")
    assert "needle" in shown.split()
    assert len(shown.split()) == 12  # ten words and two ellipses


FTS5_TERM = re.compile(r'"(?:[^"]|"")*"\*?')


@given(st.text(max_size=300))
def test_any_input_becomes_only_quoted_words_joined_by_our_operators(text: str) -> None:
    """Nothing typed reaches FTS5 as syntax: strip every quoted term and what is left is only
    the operators and parentheses this module writes."""
    query = rules.parse(text)
    match = rules.fts5_match(query)
    left = FTS5_TERM.sub("", match)
    assert set(left.split()) <= {"AND", "OR", "NOT", "(", ")"} | {
        token for token in left.split() if set(token) <= {"(", ")"}
    }
    for group, _ in zip(query.groups, range(rules.MAX_TERMS), strict=False):
        for term in group:
            assert all(re.fullmatch(r"[^\W_]+", word) for word in term.words)
    for group in rules.ts_groups(query)[0]:
        if group.prefix is not None:
            assert re.fullmatch(r"'[^\W_]+':\*", rules.prefix_tsquery(group.prefix))
    assert sum(len(g) for g in query.groups) + len(query.excluded) <= rules.MAX_TERMS


def test_best_first_is_more_words_in_the_title_then_in_a_case_then_the_newest() -> None:
    query = rules.parse("refund Patel")
    candidates = [
        (1, "Refund the premium", ""),  # one word in the title
        (2, "Address change", ""),  # the words only in the text
        (3, "Refunds for Mrs Patel", ""),  # both words in the title (refund's plural)
        (4, "Schedule", "CLM-1 Mrs Patel"),  # one word in a case
        (5, "Refunded twice", "CLM-2 Mr Patel"),  # one in the title, one in a case
        (6, "Cancel", ""),  # the words only in the text, and newer than 2
        (7, "Prefund check", ""),  # "refund" inside a word is not the word
    ]
    assert rules.relevance_order(candidates, query) == [3, 5, 1, 4, 7, 6, 2]
    # Accents and case are folded as the index folds them.
    assert rules.relevance_order([(1, "x", ""), (2, "Café", "")], rules.parse("cafe")) == [2, 1]
    # Nothing to rank by (a number only): the newest first.
    assert rules.relevance_order([(1, "a", ""), (9, "b", "")], rules.parse("#9")) == [9, 1]


def test_a_count_that_stopped_says_so() -> None:
    assert rules.shown_count(7, capped=False) == "7"
    assert rules.shown_count(1000, capped=False) == "1,000"
    assert rules.shown_count(1000, capped=True) == "1,000+"


def test_the_newest_are_read_one_by_one_only_when_matches_are_dense_among_them() -> None:
    # 1,001 matches wanted; a budget of 30,000 documents holds twice that at 1 in 15.
    assert rules.worth_reading_newest(found=134, sampled=2000, budget=30_000, wanted=1001)
    assert not rules.worth_reading_newest(found=133, sampled=2000, budget=30_000, wanted=1001)
    assert rules.worth_reading_newest(found=2000, sampled=2000, budget=2002, wanted=1001)
    assert not rules.worth_reading_newest(found=2000, sampled=2000, budget=2001, wanted=1001)
    # A page of 10: two in the sample promise 30 in the budget.
    assert rules.worth_reading_newest(found=2, sampled=2000, budget=30_000, wanted=10)
    assert not rules.worth_reading_newest(found=1, sampled=2000, budget=30_000, wanted=10)
    assert not rules.worth_reading_newest(found=0, sampled=2000, budget=10**9, wanted=1)
    # Nothing sampled, or nothing to read: nothing to go on, so the index answers.
    assert not rules.worth_reading_newest(found=0, sampled=0, budget=30_000, wanted=1)
    assert not rules.worth_reading_newest(found=10, sampled=10, budget=0, wanted=1)


def test_a_typed_word_is_tried_first_as_itself_and_the_common_words_it_begins() -> None:
    assert rules.prefix_lexeme("'polic':*") == "polic"
    assert rules.prefix_lexeme("'regi':*") == "regi"
    # A stop word gives an empty query; anything but one prefix is not read as one.
    for other in ("", "'polic'", "'a':* & 'b':*", "'it''s':*", "'a\\b':*"):
        assert rules.prefix_lexeme(other) is None, other
    common = ("polici", "refund", "police", "polic", "policyhold", "poli", "pol'ic")
    assert rules.words_beginning("polic", common, 3) == ("polic", "polici", "police")
    assert rules.words_beginning("polic", common, 10) == (
        "polic",
        "polici",
        "police",
        "policyhold",
    )
    assert rules.words_beginning("polic", common, 1) == ("polic",)
    assert rules.words_beginning("zz", common, 5) == ("zz",)
    assert rules.any_of_tsquery(("polic", "polici")) == "'polic' | 'polici'"


def test_a_search_may_be_over_the_limit_when_its_sample_is_dense_enough() -> None:
    # 1,001 needed: half of that, 500.5, among a million documents is 1 in 1,998.
    assert rules.may_be_over_limit(found=1, sampled=1998, documents=1_000_000)
    assert not rules.may_be_over_limit(found=1, sampled=2000, documents=1_000_000)
    assert not rules.may_be_over_limit(found=0, sampled=2000, documents=10**9)
    assert rules.may_be_over_limit(found=2, sampled=2000, documents=1_000_000)
    # Nothing known: it may.
    assert rules.may_be_over_limit(found=0, sampled=2000, documents=0)
    assert rules.may_be_over_limit(found=0, sampled=2000, documents=-1)
    assert rules.may_be_over_limit(found=0, sampled=0, documents=1_000_000)
