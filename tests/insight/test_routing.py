"""Routing suggestions: the model over attributes and text, the baseline of always choosing the
busiest team, the verdict that turns suggestions off; and the text neighbours kept to compare.

The synthetic histories are time-ordered (oldest first) and drift, so a split that is not by time
would give other figures; every expected figure is worked out here from the generator's own rule.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
from scipy.stats import binomtest

from followthrough.insight.routing import (
    BASELINE_METHOD,
    RAISE_TIME,
    FeatureChoice,
    RequestToRoute,
    ResolvedExample,
    RoutingAccuracy,
    TeamModel,
    baseline_accuracy,
    embeddings_available,
    held_out_accuracy,
    model_accuracy,
    rank_teams,
    routing_verdict,
    sign_test,
    suggest,
    tfidf_index,
    time_ordered_split,
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


# --- synthetic histories ---------------------------------------------------------------------

SERVICE_DESK, NETWORK, PAYROLL, FACILITIES = 10, 20, 30, 40
WORDS = [
    "please",
    "help",
    "urgent",
    "issue",
    "problem",
    "request",
    "again",
    "today",
    "soon",
    "thanks",
    "need",
    "fix",
]


def _noise_text(rng: random.Random) -> str:
    """Words every team gets alike: they tell nothing about the team."""
    return " ".join(rng.choices(WORDS, k=6))


def attributes_decide(n: int = 1500, seed: int = 7) -> list[ResolvedExample]:
    """The requester's team decides the resolving team 90% of the time (else a random team);
    the text is noise. Drift: the share of requests from "finance" grows over time, so the
    busiest team of the older part is not the busiest of the newer part."""
    rng = random.Random(seed)
    rule = {"finance": PAYROLL, "sales": NETWORK, "ops": FACILITIES}
    examples = []
    for i in range(n):
        finance_share = 0.1 + 0.6 * i / n
        requester = rng.choices(
            ["finance", "sales", "ops"], [finance_share, 0.6 - finance_share / 2, 0.3]
        )[0]
        team = rule[requester] if rng.random() < 0.9 else rng.choice(list(rule.values()))
        examples.append(
            ResolvedExample(
                _noise_text(rng),
                team,
                team * 100 + rng.randrange(3),
                attributes=(
                    ("priority", rng.choice(["low", "normal", "high"])),
                    ("requester team", requester),
                ),
            )
        )
    return examples


def nothing_decides(n: int = 1500, seed: int = 11) -> list[ResolvedExample]:
    """Teams drawn regardless of anything (Service Desk 55%); attributes and text are noise."""
    rng = random.Random(seed)
    teams = [SERVICE_DESK, NETWORK, PAYROLL, FACILITIES]
    return [
        ResolvedExample(
            _noise_text(rng),
            rng.choices(teams, [0.55, 0.2, 0.15, 0.1])[0],
            None,
            attributes=(
                ("priority", rng.choice(["low", "normal", "high"])),
                ("impact", rng.choice(["none", "one", "several"])),
                ("requester team", rng.choice(["finance", "sales", "ops"])),
            ),
        )
        for _ in range(n)
    ]


def busiest_share(train: list[ResolvedExample], test: list[ResolvedExample]) -> float:
    busiest = Counter(e.team_id for e in train).most_common(1)[0][0]
    return sum(e.team_id == busiest for e in test) / len(test)


def test_the_split_is_by_time_the_newest_held_out() -> None:
    examples = attributes_decide(100)
    train, test = time_ordered_split(examples, 0.2)
    assert train == examples[:80]
    assert test == examples[80:]


def test_the_baseline_always_names_the_busiest_team_of_the_older_requests() -> None:
    train, test = time_ordered_split(attributes_decide(), 0.2)
    baseline, busiest = baseline_accuracy(train, test)
    # Drift: Network resolves most of the older part, Payroll most of the newer.
    assert busiest == Counter(e.team_id for e in train).most_common(1)[0][0] == NETWORK
    assert Counter(e.team_id for e in test).most_common(1)[0][0] == PAYROLL
    assert baseline.method == BASELINE_METHOD
    assert baseline.top1 == pytest.approx(busiest_share(train, test))
    assert baseline.hits == tuple(e.team_id == NETWORK for e in test)


def test_the_model_learns_from_attributes_when_the_text_says_nothing() -> None:
    train, test = time_ordered_split(attributes_decide(), 0.2)
    rule = {"finance": PAYROLL, "sales": NETWORK, "ops": FACILITIES}
    # The best any router can do here is follow the generator's rule.
    by_rule = sum(rule[dict(e.attributes)["requester team"]] == e.team_id for e in test) / len(test)
    model = model_accuracy(train, test, RAISE_TIME)
    baseline, busiest = baseline_accuracy(train, test)
    assert model.top1 == pytest.approx(by_rule, abs=0.02)
    assert model.top1 > baseline.top1 + 0.3
    verdict = routing_verdict(model, baseline, busiest)
    assert verdict.on
    assert verdict.why == "helps"
    assert verdict.evaluated == len(test)
    assert (verdict.right, verdict.baseline_right) == (model.top1, busiest_share(train, test))

    # The words are noise: on them alone the model does no better than guessing among three.
    text_only = model_accuracy(train, test, FeatureChoice("text only", attributes=frozenset()))
    assert text_only.top1 < 0.4 < by_rule - 0.4


def test_nothing_beats_the_busiest_team_so_suggestions_are_off() -> None:
    train, test = time_ordered_split(nothing_decides(), 0.2)
    baseline, busiest = baseline_accuracy(train, test)
    assert busiest == SERVICE_DESK
    for choice in (RAISE_TIME, FeatureChoice("everything")):
        model = model_accuracy(train, test, choice)
        verdict = routing_verdict(model, baseline, busiest)
        assert not verdict.on
        assert verdict.why in ("not better", "not sure")
        assert verdict.baseline_right == pytest.approx(busiest_share(train, test))
        assert verdict.baseline_team_id == SERVICE_DESK


def _accuracy(hits: list[bool]) -> RoutingAccuracy:
    return RoutingAccuracy("x", len(hits), sum(hits) / len(hits), 0.0, tuple(hits))


def test_a_lead_over_the_baseline_must_be_more_than_luck() -> None:
    # Right on 7 more of 10 and wrong on none the baseline got: p = 1/2^7 < 5%.
    clear = routing_verdict(_accuracy([True] * 10), _accuracy([False] * 7 + [True] * 3), 1)
    assert clear.on
    assert clear.p_value == pytest.approx(0.5**7)
    # Right on 3 the baseline missed and wrong on 1 it got: p = 5/16, not shown.
    close = routing_verdict(
        _accuracy([True] * 3 + [False] + [True] * 6),
        _accuracy([False] * 3 + [True] + [True] * 6),
        1,
    )
    assert (close.on, close.why) == (False, "not sure")
    level = routing_verdict(_accuracy([True, False] * 5), _accuracy([False, True] * 5), 1)
    assert (level.on, level.why) == (False, "not better")
    empty = routing_verdict(_accuracy([True] * 2), _accuracy([False] * 2), 1)
    assert (empty.on, empty.why) == (False, "no history")


@pytest.mark.parametrize(("wins", "losses"), [(0, 0), (5, 0), (7, 3), (30, 18), (120, 100)])
def test_the_sign_test_equals_scipys_exact_binomial_test(wins: int, losses: int) -> None:
    expected = (
        1.0
        if wins + losses == 0
        else binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue
    )
    assert sign_test(wins, losses) == pytest.approx(expected)


def test_a_suggestion_names_who_resolved_the_nearest_requests_of_that_team() -> None:
    examples = attributes_decide(300)
    model = TeamModel(examples, RAISE_TIME)
    request = RequestToRoute("please help", (("requester team", "finance"),))
    first = suggest(model, request, limit=2)[0]
    assert first.team_id == PAYROLL
    near = [e for e, _ in model.neighbours(request) if e.team_id == PAYROLL]
    assert first.similar == len(near)
    top = Counter(e.resolver_id for e in near).most_common(1)[0]
    assert (first.people[0].person_id, first.people[0].score) == (top[0], top[1] / len(near))


def test_boilerplate_and_one_off_words_are_not_text_to_learn_from() -> None:
    examples = [
        ResolvedExample(f"Case {i} Imported from log.xes, case {i}.", NETWORK, None)
        for i in range(1000, 1030)
    ]
    assert TeamModel(examples, RAISE_TIME).tfidf is None


def test_an_attribute_naming_single_requests_is_left_out() -> None:
    examples = [
        ResolvedExample("x", NETWORK if i % 2 else PAYROLL, None, attributes=(("ref", str(i)),))
        for i in range(100)
    ]
    assert TeamModel(examples, FeatureChoice("all")).attribute_names == frozenset()


def test_the_ranking_does_not_depend_on_the_order_of_equal_teams() -> None:
    examples = [ResolvedExample("x", t, None) for t in (PAYROLL, NETWORK)]
    for ordered in (examples, examples[::-1]):
        model = TeamModel(ordered, RAISE_TIME)
        assert model.rank([RequestToRoute("x")]) == [[NETWORK, PAYROLL]]
        # Nothing to compare requests by: no neighbours, so nobody is named.
        assert [(s.team_id, s.similar, s.people) for s in suggest(model, RequestToRoute("x"))] == [
            (NETWORK, 0, ())
        ]
