from __future__ import annotations

import random

import pytest
from sklearn.metrics import cohen_kappa_score

from followthrough.practice.roleplay.calibration import (
    CODES,
    FITTED_FRESH,
    FRESH_FILES,
    InvalidLabelledSet,
    agreements,
    cohens_kappa,
    read_labelled,
    score_all,
    shipped_fresh,
    shipped_labelled,
)
from followthrough.practice.roleplay.rubric import Behaviour
from followthrough.practice.roleplay.scoring import ScoringModel


def test_kappa_of_a_worked_example() -> None:
    # 10 items: both say yes on 3, both no on 5, they differ on 2 (one each way).
    first = [True] * 3 + [False] * 5 + [True, False]
    second = [True] * 3 + [False] * 5 + [False, True]
    # observed 0.8; each says yes 4/10, chance = .4*.4 + .6*.6 = 0.52; (0.8-0.52)/0.48
    assert cohens_kappa(first, second) == pytest.approx(0.28 / 0.48)


def test_kappa_agrees_with_scikit_learn() -> None:
    rng = random.Random(14)
    for _ in range(50):
        n = rng.randint(5, 60)
        first = [rng.random() < 0.3 for _ in range(n)]
        second = [a if rng.random() < 0.8 else not a for a in first]
        if len(set(first)) == 1 and len(set(second)) == 1:
            continue
        assert cohens_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second))


def test_the_shipped_set_has_at_least_200_replies_labelled_on_every_behaviour() -> None:
    replies = shipped_labelled()
    assert len(replies) >= 200
    # Every reply carries a yes or no for every behaviour (codes absent mean no), so each
    # behaviour is labelled on every reply; and each behaviour is shown in a fair number.
    for behaviour in Behaviour:
        assert sum(behaviour in r.shows for r in replies) >= 30, behaviour
    held = [r for r in replies if r.held_out]
    assert 0.15 < len(held) / len(replies) < 0.35


def test_the_held_out_part_is_fixed_by_the_text() -> None:
    text = "A | What do you need?\n- | Fine.\nD | Not my job.\n"
    assert [r.held_out for r in read_labelled(text)] == [r.held_out for r in read_labelled(text)]


def test_a_bad_line_is_named_with_its_line() -> None:
    with pytest.raises(InvalidLabelledSet, match=r"set.txt:3: unknown behaviour code 'Z'"):
        read_labelled("# comment\nA | fine\nZ | bad\n", source="set.txt")
    with pytest.raises(InvalidLabelledSet, match=r":2: expected"):
        read_labelled("A | fine\nno bar here\n")
    with pytest.raises(InvalidLabelledSet, match=r":2: the same reply is already on line 1"):
        read_labelled("A | same\nR | same\n")


def test_codes_cover_every_behaviour() -> None:
    assert set(CODES.values()) == set(Behaviour)


def test_fresh_replies_are_kept_out_of_fitting() -> None:
    text = "A | one?\n# @fresh: from here\nD | Not my job.\nO | Leave it with me.\n"
    replies = read_labelled(text)
    assert [r.fresh for r in replies] == [False, True, True]
    assert not any(r.fitting for r in replies[1:])


def test_agreement_on_replies_never_fitted_reaches_two_observers(model: ScoringModel) -> None:
    """On the held-out and fresh replies: kappa at least 0.6 per behaviour, and at least 90% of
    deflections caught (issue 14). `followthrough roleplay evaluate` prints the full table."""
    unseen = [r for r in shipped_labelled() if not r.fitting]
    scored = score_all(unseen, model)
    for row in agreements(scored, model.rubric):
        assert row.kappa >= 0.6, row
    deflection = next(
        r for r in agreements(scored, model.rubric) if r.behaviour is Behaviour.DEFLECTS
    )
    assert deflection.labelled >= 30
    assert deflection.recall >= 0.9, deflection


@pytest.mark.parametrize("name", FRESH_FILES)
def test_each_later_fresh_set_is_apart_and_weighted_to_deflections(name: str) -> None:
    fresh = shipped_fresh(name)
    assert all(r.fresh and not r.fitting for r in fresh)
    # The newest is never fitted; the spent ones are, by `calibrate`, on top of the fitting part.
    assert FRESH_FILES[-1] not in FITTED_FRESH
    assert set(FITTED_FRESH) < set(FRESH_FILES)
    others = {r.text for r in shipped_labelled()} | {
        r.text for other in FRESH_FILES if other != name for r in shipped_fresh(other)
    }
    assert not {r.text for r in fresh} & others
    deflections = [r for r in fresh if Behaviour.DEFLECTS in r.shows]
    assert len(fresh) >= 60
    assert len(deflections) >= 30
    assert len(fresh) - len(deflections) >= 30


# A behaviour shown in fewer replies than this in a part is reported, not held to the kappa
# bar there: with 2-4 replies one disagreement moves kappa by 0.2-0.5.
MIN_SHOWN_FOR_KAPPA = 10


@pytest.mark.parametrize(
    "name",
    [
        # Each scored once (88%, then 83% of their deflections caught), then tuned and fitted on.
        "fresh_replies_2.txt",
        "fresh_replies_3.txt",
        # The test of the current rules and cues, written and committed before them (b2900b1).
        "fresh_replies_4.txt",
    ],
)
def test_later_fresh_sets_catch_deflections_and_reach_two_observers(
    model: ScoringModel, name: str
) -> None:
    """On each later fresh set: at least 90% of deflections caught (issue 14), and kappa at
    least 0.6 for each behaviour shown in at least 10 of its replies. The newest set was written
    before the last change to the rules and cues; the older ones have since been tuned and
    fitted on (docs/roleplay.md). `followthrough roleplay evaluate` prints every figure."""
    rows = agreements(score_all(shipped_fresh(name), model), model.rubric)
    deflection = next(r for r in rows if r.behaviour is Behaviour.DEFLECTS)
    assert deflection.labelled >= 30
    assert deflection.recall >= 0.9, deflection
    held = [r for r in rows if r.labelled >= MIN_SHOWN_FOR_KAPPA]
    assert {r.behaviour for r in held} >= {Behaviour.DEFLECTS, Behaviour.TAKES_OWNERSHIP}
    for row in held:
        assert row.kappa >= 0.6, row
