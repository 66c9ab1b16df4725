"""The demo's words read as a person wrote them, and its confidential requests stay apart.

The rules here are written without the generator's helpers: an article agrees with the sound of
the next word, no word comes back within three words ("claim the claim"), a placeholder's
stand-in ("the claim", "the customer") never shows, and no confidential request is linked to a
customer's case (the case page would show it to everyone who reads the case).
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from followthrough.db import Database
from followthrough.demo.company import write_company
from followthrough.demo.generator import demo_password_hash
from followthrough.demo.history import History, simulate

SEED = 20261201
REQUESTS = 1500

ARTICLE = re.compile(r"\b(a|an|A|An) ([\w'-]+)")
# Words that start with a vowel letter but not a vowel sound, and the reverse.
CONSONANT_SOUND = ("one", "once", "uni", "use", "usual", "eu", "ukr")
VOWEL_SOUND = ("hour", "honest", "heir")
# An abbreviation is said by its letters' names; these letters' names start with a vowel.
VOWEL_NAMED = set("AEFHILMNORSX")
# Within one clause: a colon or a full stop starts another ("Waiting on Motor Claims: Review
# motor claim …" names the team, then quotes the title).
NEAR_REPEAT = re.compile(r"\b(\w{4,})\b(?:[ ,]+[\w'-]+){0,2}?[ ,]+\1\b", re.IGNORECASE)
STAND_INS = ("the claim for the customer", "claim the claim", "{", "}")


def article_problems(text: str) -> list[str]:
    problems = []
    for article, word in ARTICLE.findall(text):
        if len(word) > 1 and word.isupper():
            wants_an = word[0] in VOWEL_NAMED
        else:
            lower = word.lower()
            wants_an = lower[0] in "aeiou"
            if lower.startswith(CONSONANT_SOUND):
                wants_an = False
            if lower.startswith(VOWEL_SOUND):
                wants_an = True
        if wants_an != (article.lower() == "an"):
            problems.append(f"{article} {word}")
    return problems


def text_problems(text: str) -> list[str]:
    problems = article_problems(text)
    problems += [f"repeated {m.group(1)!r}" for m in NEAR_REPEAT.finditer(text)]
    problems += [f"stand-in {s!r}" for s in STAND_INS if s in text]
    return problems


def test_the_rules_catch_the_words_people_complained_about() -> None:
    assert text_problems("Review motor claim the claim for the customer")
    assert article_problems("Returning this — it's a Underwriting change after all.")
    assert article_problems("an Billing change")
    assert not article_problems("an Underwriting change, a Billing change, an HR change")
    assert not article_problems("an IT Service Desk change, a UK office, a one-off")
    assert not text_problems("Review motor claim CLM-2026-00012 for Mrs Sarah Lloyd")


@pytest.fixture(scope="module")
def history(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> History:
    """One simulated history for the module: only its words are read, so the company is written
    once, to a database of the module's own (the words do not depend on the backend)."""
    path = tmp_path_factory.mktemp("demo-texts") / "company.sqlite3"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    try:
        with database.unit_of_work() as session:
            company = write_company(session, demo_password_hash(SEED))
    finally:
        database.dispose()
    return simulate(company, random.Random(SEED), REQUESTS)


def _texts(history: History) -> Iterator[tuple[str, str]]:
    """Every piece of text a person of the demo wrote, with where it came from."""
    for name in ("requests", "offers", "pauses", "updates", "promises", "ratings", "feedback"):
        for record in getattr(history, name):
            for f in fields(record):
                value = getattr(record, f.name)
                if isinstance(value, str) and " " in value:
                    yield f"{name}.{f.name}", value
    for event in history.events:
        for key, value in event.payload.to_json().items():
            if isinstance(value, str) and " " in value:
                yield f"event {event.kind}.{key}", value


def test_every_demo_text_reads_as_a_person_wrote_it(history: History) -> None:
    problems = {
        f"{where}: {text!r}: {', '.join(found)}"
        for where, text in _texts(history)
        if (found := text_problems(text))
    }
    assert not problems, "\n".join(sorted(problems)[:20])


def test_the_texts_checked_include_titles_notes_and_bounces(history: History) -> None:
    wheres = {where for where, _ in _texts(history)}
    assert {"requests.title", "requests.need", "offers.note", "updates.body"} <= wheres
    bounces = [t for _, t in _texts(history) if "change after all" in t]
    assert bounces, "no bounce note to check the article in"


def test_no_confidential_request_is_linked_to_a_customer_case(history: History) -> None:
    confidential = [r for r in history.requests if r.confidential]
    assert confidential, "the history has no confidential request to check"
    assert [r.title for r in confidential if r.cases] == []
    assert all(r.impact_customers == 0 for r in confidential)
    linked = {e.request.seq for e in history.events if e.kind == "case_linked" and e.request}
    assert not linked & {r.seq for r in confidential}
