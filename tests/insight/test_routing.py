"""Routing suggestions: similar resolved requests vote, teams that passed such work on lose."""

from __future__ import annotations

import pytest

from followthrough.insight.routing import (
    ResolvedExample,
    embeddings_available,
    held_out_accuracy,
    rank_teams,
    tfidf_index,
)

CLAIMS, POLICY, IT, TRIAGE = 1, 2, 3, 4


def test_the_team_that_resolved_the_most_similar_requests_comes_first() -> None:
    neighbours = [
        (ResolvedExample("a", POLICY, 10), 0.9),
        (ResolvedExample("b", POLICY, 11), 0.8),
        (ResolvedExample("c", CLAIMS, 20), 0.7),
    ]
    ranked = rank_teams(neighbours)
    assert [t.team_id for t in ranked] == [POLICY, CLAIMS]
    assert ranked[0].score == pytest.approx(1.7 / 2.4)
    assert [p.person_id for p in ranked[0].people] == [10, 11]


def test_a_team_that_declined_or_bounced_similar_requests_is_ranked_down() -> None:
    neighbours = [
        (ResolvedExample("a", POLICY, None, passed_on_by=(CLAIMS,)), 0.6),
        (ResolvedExample("b", POLICY, None, passed_on_by=(CLAIMS,)), 0.6),
        (ResolvedExample("c", CLAIMS, None), 0.8),
        (ResolvedExample("d", CLAIMS, None), 0.8),
    ]
    without = rank_teams(neighbours, penalty=0.0)
    assert without[0].team_id == CLAIMS
    ranked = rank_teams(neighbours, penalty=0.5)
    # Claims: 1.6 - 0.5 * 1.2 = 1.0, Policy 1.2: the team that passed such work on drops.
    assert [t.team_id for t in ranked] == [POLICY, CLAIMS]


def test_a_team_that_only_passes_work_on_is_not_suggested() -> None:
    neighbours = [(ResolvedExample("a", IT, None, passed_on_by=(TRIAGE,)), 0.9)]
    assert [t.team_id for t in rank_teams(neighbours)] == [IT]


def test_tfidf_finds_requests_with_the_same_words() -> None:
    examples = [
        ResolvedExample("wrong address on the policy document", POLICY, 1),
        ResolvedExample("claim payment is late", CLAIMS, 2),
        ResolvedExample("laptop will not start", IT, 3),
    ]
    nearest = tfidf_index(examples).nearest("the policy document shows an old address", k=1)
    assert nearest[0][0].team_id == POLICY


def test_held_out_accuracy_counts_top_one_and_top_three() -> None:
    train = [
        ResolvedExample("policy address wrong", POLICY, 1),
        ResolvedExample("claim payment late", CLAIMS, 2),
        ResolvedExample("laptop broken", IT, 3),
    ]
    test = [
        ResolvedExample("policy address", POLICY, 1),
        ResolvedExample("laptop broken again", CLAIMS, 2),
    ]
    accuracy = held_out_accuracy(train, test, tfidf_index, "TF-IDF")
    assert (accuracy.evaluated, accuracy.top1, accuracy.top3) == (2, 0.5, 0.5)


@pytest.mark.skipif(not embeddings_available(), reason="the [ml] extra is not installed")
def test_sentence_embeddings_match_meaning_not_only_words() -> None:
    from followthrough.insight.routing import embedding_index

    examples = [
        ResolvedExample("my laptop will not switch on", IT, 1),
        ResolvedExample("the customer's claim payment has not arrived", CLAIMS, 2),
    ]
    nearest = embedding_index(examples).nearest("computer does not boot", k=1)
    assert nearest[0][0].team_id == IT
