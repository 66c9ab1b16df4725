"""The leader's message draft, a pure function: recognitions thanked by name, the silo map's
highlight, the programmes' news, and plain words when there is nothing to say."""

from __future__ import annotations

from followthrough.programmes.messages_rules import Highlight, ProgrammeNews, check, draft


def test_the_draft_thanks_by_name_highlights_the_pair_and_gives_the_news() -> None:
    subject, body = draft(
        "30 November 2026",
        [("Asha Assessor", "fixed a handoff that bounced between three teams")],
        Highlight("Claims", "Finance", 7),
        ProgrammeNews(buddy_groups=10, buddy_met=6, lunches_ahead=2),
    )
    assert subject == "Working across teams: the week of 30 November 2026"
    paragraphs = body.split("\n\n")
    assert paragraphs[0] == "Dear all,"
    assert paragraphs[1] == (
        "Thank you to the people who fixed problems for more than one team:\n"
        "- Asha Assessor: fixed a handoff that bounced between three teams"
    )
    assert paragraphs[2].startswith(
        "Where we can do better: 7 requests Claims handed to Finance came back in the last 30 days."
    )
    assert paragraphs[3] == (
        "In the latest buddy round 6 of 10 groups met. "
        "2 lunch-and-learn sessions are coming up: take a place."
    )


def test_a_quiet_week_says_so_and_leaves_out_what_it_has_not() -> None:
    _, body = draft("1 December 2026", [], None, ProgrammeNews(0, 0, 1))
    paragraphs = body.split("\n\n")
    assert paragraphs[1] == "No recognition was confirmed this week; leads, tell us who helped."
    assert paragraphs[2] == "1 lunch-and-learn session is coming up: take a place."
    assert "Where we can do better" not in body
    assert "buddy" not in body


def test_an_empty_subject_or_message_is_refused_by_field() -> None:
    assert check("Hello", "Thanks all") == {}
    assert set(check(" ", "")) == {"subject", "body"}
    assert set(check("x" * 201, "ok")) == {"subject"}
    # A subject is one line: it heads the mail and the chat message.
    for broken in ("Thanks\r\nBcc: everyone@example.com", "Thanks\nall", "Tab\there", "Bell\x07"):
        assert set(check(broken, "ok")) == {"subject"}, repr(broken)
    assert check("Merci à tous — ça marche", "ok") == {}
