from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from followthrough.practice.roleplay.embedding import load_embedder
from followthrough.practice.roleplay.learned import load_learned
from followthrough.practice.roleplay.rubric import Behaviour, Block, default_rubric
from followthrough.practice.roleplay.scoring import (
    Evidence,
    ScoringModel,
    TurnScore,
    prepare,
    score_reply,
    sentences,
)


def _found(score: TurnScore, behaviour: Behaviour):  # type: ignore[no-untyped-def]
    return next(s for s in score.behaviours if s.behaviour is behaviour)


def test_not_my_department_scores_as_a_deflection_quoting_it(model: ScoringModel) -> None:
    reply = "Sorry. That's not my department, you will have to call claims."
    score = score_reply(reply, model)
    deflection = _found(score, Behaviour.DEFLECTS)
    assert deflection.present
    assert deflection.points == -1
    assert deflection.span is not None
    assert deflection.span.text == "That's not my department, you will have to call claims."
    assert reply[deflection.span.start : deflection.span.end] == deflection.span.text
    assert score.block_points(Block.OWN) == -1


@pytest.mark.parametrize(
    "reply",
    [
        "Not my department, mate.",
        "That's for finance to sort out.",
        "There's nothing I can do, it's out of my hands.",
        "You'll need to ring the broker line for that.",
        "Try the complaints team, they look after that side.",
        "You'd be better off asking the surveyor.",
        "Honestly that would be for your own team lead to decide.",
        "My hands are tied, it's their decision, not me.",
        "Whoever booked the repair should be the one chasing it.",
    ],
)
def test_other_deflections_lose_the_point(model: ScoringModel, reply: str) -> None:
    assert _found(score_reply(reply, model), Behaviour.DEFLECTS).points == -1


def test_refusing_to_deflect_is_not_a_deflection(model: ScoringModel) -> None:
    score = score_reply("I won't tell you it's not my department. Leave it with me.", model)
    deflection = _found(score, Behaviour.DEFLECTS)
    assert not deflection.present
    assert deflection.evidence is Evidence.REFUSED
    assert _found(score, Behaviour.TAKES_OWNERSHIP).points == 1


@pytest.mark.parametrize(
    "reply",
    [
        "Strictly speaking that's a finance matter, but I'll sort it out myself.",
        "It's with underwriting at the moment; I'm chasing it and I'll call you at four.",
        "Payments normally deal with that, so leave it with me and I'll get it moving.",
    ],
)
def test_passing_it_on_in_words_while_taking_it_on_is_not_a_deflection(
    model: ScoringModel, reply: str
) -> None:
    score = score_reply(reply, model)
    deflection = _found(score, Behaviour.DEFLECTS)
    assert not deflection.present
    assert deflection.evidence is Evidence.KEPT
    assert deflection.span is not None
    assert _found(score, Behaviour.TAKES_OWNERSHIP).present


def test_taking_it_on_then_passing_it_on_after_a_but_is_still_a_deflection(
    model: ScoringModel,
) -> None:
    score = score_reply("I'll look into it, but honestly the garage should be sorting it.", model)
    assert _found(score, Behaviour.DEFLECTS).points == -1


def test_calling_it_my_job_sarcastically_is_a_deflection(model: ScoringModel) -> None:
    reply = "Oh sure, because chasing the garage for you is my job now."
    deflection = _found(score_reply(reply, model), Behaviour.DEFLECTS)
    assert deflection.points == -1
    assert deflection.evidence is Evidence.PHRASE
    assert not _found(score_reply(reply, model), Behaviour.TAKES_OWNERSHIP).present


def test_no_deflection_in_other_words_when_the_reply_owns_it_in_so_many_words(
    model: ScoringModel,
) -> None:
    # The learned cue alone finds this sentence likely enough to be a deflection (it names
    # someone else), but the speaker says they will do it themselves.
    reply = "I'll speak to the team lead about the workload myself."
    cue = model.learned[Behaviour.DEFLECTS]
    vector = model.embedder.embed([reply])[0]
    assert cue.probability(reply, vector) >= cue.threshold
    deflection = _found(score_reply(reply, model), Behaviour.DEFLECTS)
    assert not deflection.present
    assert deflection.evidence is not Evidence.MEANING


def test_a_full_reply_earns_each_block_with_its_own_sentence(model: ScoringModel) -> None:
    reply = (
        "I'm sorry, that sounds really frustrating. "
        "What does the customer need most right now? "
        "Leave it with me: I'll call the garage and ring you back by 3pm today. "
        "Does that work for you?"
    )
    score = score_reply(reply, model)
    expected_sentence = {
        Behaviour.ACKNOWLEDGES_FEELING: "I'm sorry, that sounds really frustrating.",
        Behaviour.ASKS_NEED: "What does the customer need most right now?",
        Behaviour.CUSTOMER_VIEW: "What does the customer need most right now?",
        Behaviour.TAKES_OWNERSHIP: "Leave it with me: I'll call the garage and ring you back by 3pm today.",
        Behaviour.NEXT_STEP_AND_TIME: "Leave it with me: I'll call the garage and ring you back by 3pm today.",
        Behaviour.CHECKS_BACK: "Does that work for you?",
    }
    for behaviour, sentence in expected_sentence.items():
        found = _found(score, behaviour)
        assert found.present, behaviour
        assert found.span is not None
        assert found.span.text == sentence
    assert not score.present(Behaviour.DEFLECTS)
    assert score.block_points(Block.SERVE) == 2
    assert score.block_points(Block.COMMUNICATE) == 2
    assert score.total == 6  # six behaviours shown, no deflection


def test_a_next_step_without_a_time_does_not_count(model: ScoringModel) -> None:
    found = _found(score_reply("I'll call you back.", model), Behaviour.NEXT_STEP_AND_TIME)
    assert not found.present
    assert found.evidence is Evidence.MISSING_TIME


def test_a_negated_promise_does_not_count(model: ScoringModel) -> None:
    found = _found(
        score_reply("I won't be able to call you back today.", model), Behaviour.NEXT_STEP_AND_TIME
    )
    assert not found.present


def test_sarcasm_earns_nothing(model: ScoringModel) -> None:
    score = score_reply("Oh sure, I'll drop everything and call you back by five.", model)
    assert not score.present(Behaviour.NEXT_STEP_AND_TIME)
    assert not score.present(Behaviour.TAKES_OWNERSHIP)
    assert _found(score, Behaviour.NEXT_STEP_AND_TIME).evidence is Evidence.SARCASM


def test_identical_input_gives_identical_scores(model: ScoringModel) -> None:
    reply = "So you need the payment by Friday? I'll chase finance myself and call you at four."
    first = score_reply(reply, model).as_dict()
    again = score_reply(reply, model).as_dict()
    # A model prepared again from the same parts, in the same process, scores the same too.
    learned = load_learned()
    fresh = score_reply(
        reply, prepare(default_rubric(), load_embedder(), learned.cues, learned.version)
    ).as_dict()
    assert first == again == fresh


def test_scores_are_the_same_in_another_process(model: ScoringModel) -> None:
    reply = "What do you need from me? That's not my job, ask claims."
    code = (
        "import json,sys;"
        "from followthrough.practice.roleplay.scoring import shipped_model, score_reply;"
        "m=shipped_model();"
        f"print(json.dumps(score_reply({reply!r}, m).as_dict(), sort_keys=True))"
    )
    # No network for the child: the model must load from the wheel alone.
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    import json

    assert json.loads(out.strip().splitlines()[-1]) == json.loads(
        json.dumps(score_reply(reply, model).as_dict(), sort_keys=True)
    )


def test_an_empty_reply_shows_nothing(model: ScoringModel) -> None:
    score = score_reply("   ", model)
    assert score.total == 0
    assert all(s.span is None for s in score.behaviours)


def test_sentences_keep_their_positions() -> None:
    text = "  Hello there.  Is that OK?\nYes; fine"
    parts = sentences(text)
    assert [p.text for p in parts] == ["Hello there.", "Is that OK?", "Yes;", "fine"]
    assert all(text[p.start : p.end] == p.text for p in parts)


def test_loading_the_model_leaves_logging_as_it_was() -> None:
    code = (
        "import logging;"
        "from followthrough.practice.roleplay.embedding import load_embedder;"
        "load_embedder();"
        "root=logging.getLogger();"
        "print(len(root.handlers), root.level)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["0", str(logging.WARNING)]


def test_a_refusal_before_a_but_does_not_cover_what_follows(model: ScoringModel) -> None:
    reply = "I won't bounce you around, but honestly that one's for the surveyor."
    assert _found(score_reply(reply, model), Behaviour.DEFLECTS).points == -1


def test_a_negation_reaches_only_its_own_clause(model: ScoringModel) -> None:
    # "not" belongs to the first clause; the second owns the mistake.
    score = score_reply("It wasn't the broker's doing, it's my mistake.", model)
    ownership = _found(score, Behaviour.TAKES_OWNERSHIP)
    assert ownership.present
    assert ownership.evidence is Evidence.PHRASE


def test_no_ownership_in_other_words_in_a_reply_that_passes_it_on(model: ScoringModel) -> None:
    score = score_reply(
        "I'll forward the form to claims tonight; after that it's up to them.", model
    )
    assert _found(score, Behaviour.DEFLECTS).points == -1
    assert not _found(score, Behaviour.TAKES_OWNERSHIP).present
