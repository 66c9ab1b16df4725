"""A day at work for each role, in Chromium, on a desk with more work than any list shows at once.

The requester, a team member, the duty owner, the lead and the admin each sign in from a browser
set to Kolkata or New York time, find a request through the header's search box, do what their
role does with it, and on every page they pass through:
- every number above a list equals the rows that list (or its "see all" pages) holds;
- every link, and every form that only reads (method GET), is followed once and ends on a page
  that is not a 4xx or 5xx and that has the main navigation;
- every <time> reads as its datetime attribute converted with zoneinfo into the browser's zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import FilePayload, Page, expect

from followthrough.db import Database
from followthrough.requests.service import (
    NewRequest,
    accept_offer,
    ask_clarification,
    open_offer_of,
    open_request,
)
from followthrough.sweeper.service import sweep
from tests.attachments import files
from tests.browser.conftest import People, screenshot
from tests.browser.test_story import raise_request
from tests.conftest import Clock, LiveServer, serving
from tests.factories import World

pytestmark = pytest.mark.browser

KOLKATA = ("Asia/Kolkata", "en-IN")
NEW_YORK = ("America/New_York", "en-US")
NNBSP = "\u202f"  # CLDR's narrow no-break space before AM/PM

# More requests waiting at Policy Admin than Home (5) or the lead board (10) shows before "see all".
WAITING = 12
# They and the two duplicates go unanswered past the accept target: each is escalated to the lead.
UNANSWERED = WAITING + 2


@pytest.fixture
def server(
    sqlite_db: Database, small_world: World, clock: Clock, tmp_path: Path
) -> Iterator[LiveServer]:
    """The app with its attachments kept in the test's own folder."""
    with serving(sqlite_db, clock, attachment_folder=tmp_path / "files") as live:
        yield live


# ---- the desk on the morning the day starts --------------------------------------------------


@dataclass(frozen=True)
class Desk:
    waiting: list[int]  # raised by Asha, never accepted, escalated to Lee by the sweeper
    question: int  # accepted by Cleo, who asked Asha a question about it
    duplicate: tuple[int, int]  # the same need raised twice by Otto


def _raise(db: Database, world: World, handle: str, title: str, now: datetime) -> int:
    with db.unit_of_work() as session:
        request = open_request(
            session,
            world.actor(session, handle),
            NewRequest(
                title=title,
                need=f"{title}. Please correct it.",
                service_id=world.services["correct_policy"],
            ),
            now,
        )
        return request.id


@pytest.fixture
def desk(sqlite_db: Database, small_world: World, clock: Clock, server: LiveServer) -> Desk:
    waiting = [
        _raise(
            sqlite_db,
            small_world,
            "asha",
            f"Renewal letter HM-70{i:02d} names the old broker",
            clock.now,
        )
        for i in range(WAITING)
    ]
    question = _raise(
        sqlite_db, small_world, "asha", "Driver HM-5150 missing from the schedule", clock.now
    )
    with sqlite_db.unit_of_work() as session:
        cleo = small_world.actor(session, "cleo")
        offer = open_offer_of(session, question)
        assert offer is not None
        accept_offer(session, cleo, question, offer.id, clock.now)
        ask_clarification(
            session, cleo, question, "Which driver: the named one or the learner?", clock.now
        )
    first = _raise(sqlite_db, small_world, "otto", "Address HM-9090 is out of date", clock.now)
    second = _raise(sqlite_db, small_world, "otto", "Address HM-9090 still out of date", clock.now)
    # Nobody accepts the waiting ones within the two-hour target: each is escalated to the lead.
    clock.advance(hours=3)
    swept = sweep(sqlite_db, clock.now)
    assert swept["offers escalated"] == UNANSWERED, swept
    return Desk(waiting, question, (first, second))


# ---- what every page a person passes through must hold ---------------------------------------


def en_in(local: datetime) -> str:
    """en_IN's pattern, written out by hand: "Mon, 2 Mar, 2:30 PM IST"."""
    hour = local.hour % 12 or 12
    return (
        f"{local:%a}, {local.day} {local:%b}, {hour}:{local:%M}{NNBSP}{local:%p} {local.tzname()}"
    )


def en_us(local: datetime) -> str:
    """en_US's pattern, written out by hand: "Mon, Mar 2, 4:00 AM EST"."""
    hour = local.hour % 12 or 12
    return (
        f"{local:%a}, {local:%b} {local.day}, {hour}:{local:%M}{NNBSP}{local:%p} {local.tzname()}"
    )


WRITTEN: dict[str, Callable[[datetime], str]] = {"en-IN": en_in, "en-US": en_us}


@dataclass
class Day:
    """One person's day: their page, their clock, and what the checks have seen so far."""

    page: Page
    zone: str
    locale: str
    followed: dict[str, int] = field(default_factory=dict)
    times_checked: int = 0
    lists_checked: int = 0

    def check(self) -> None:
        """The three checks on the page the person is looking at now."""
        self.check_times()
        self.check_counts()
        self.follow_everything()

    def check_times(self) -> None:
        written = WRITTEN[self.locale]
        shown = self.page.eval_on_selector_all(
            "time[datetime]", "els => els.map(e => [e.getAttribute('datetime'), e.textContent])"
        )
        for iso, text in shown:
            instant = datetime.fromisoformat(iso)
            assert instant.tzinfo is not None, iso
            expected = written(instant.astimezone(ZoneInfo(self.zone)))
            assert text == expected, f"{self.page.url}: {iso} shown as {text!r}"
        self.times_checked += len(shown)

    def check_counts(self) -> None:
        """Each collapsible list's count equals its rows, or the rows of its "see all" pages."""
        page = self.page
        here = page.url
        sections = page.eval_on_selector_all(
            'details[id^="sec-"]',
            """els => els.map(d => [d.id, d.querySelector('summary .count').textContent,
                d.querySelectorAll(
                  ':scope > ul.items > li, :scope > ul.offers > li, table.list > tbody > tr:not(.group)'
                ).length,
                (d.querySelector('.see-all a') || {}).href || null,
                d.querySelector('nav.pager') !== null])""",
        )
        for section_id, count, shown, see_all, paged in sections:
            total = int(re.sub(r"\D", "", count) or "-1")
            if section_id == "sec-inbox":
                # The inbox counts what is unread; its link goes to the whole history.
                self._check_unread(total, shown)
                continue
            if paged:  # the team queue: its first page here, paged in place
                assert 0 < shown <= total, f"{here} #{section_id}: {total} counted, {shown} listed"
                continue
            if see_all is None:
                assert shown == total, f"{here} #{section_id}: {total} counted, {shown} listed"
                continue
            assert shown < total, f"{here} #{section_id}: 'see all' though all {total} are shown"
            listed = self._rows_of_every_page(see_all)
            assert len(listed) == total, f"{see_all}: {total} counted, {len(listed)} listed"
            assert len(set(listed)) == len(listed), f"{see_all}: a row listed twice"
            self.lists_checked += 1
        if sections:
            page.goto(here)

    def _check_unread(self, total: int, shown: int) -> None:
        assert shown <= total
        response = self.page.context.request.get("/notifications?show=unread")
        assert response.status == 200
        unread = re.search(
            r'href="/notifications\?show=unread"[^>]*>[^<]*<span class="count">(\d+)</span>',
            response.text(),
        )
        assert unread is not None
        assert int(unread.group(1)) == total
        # Every unread one is listed (a day's notifications fit on the history's first page).
        assert response.text().count('<li class="notification unread"') == total
        self.lists_checked += 1

    def _rows_of_every_page(self, url: str) -> list[str]:
        page = self.page
        rows: list[str] = []
        page.goto(url)
        heading_count = int(page.locator("h1 .count").text_content() or "-1")
        while True:
            self.check_times()
            self.follow_everything()
            rows += page.eval_on_selector_all(
                "main ul.items > li", "els => els.map(li => li.innerText)"
            )
            following = page.locator("nav.pager a[rel=next]")
            if following.count() == 0:
                break
            page.goto(following.get_attribute("href") or "")
        assert heading_count == len(rows), f"{url}: heading says {heading_count}"
        return rows

    def follow_everything(self) -> None:
        """Every same-origin link and GET form on the page, each address once per day."""
        page = self.page
        origin = urlsplit(page.url)[:2]
        targets: list[str] = page.eval_on_selector_all(
            "a[href]", "els => els.map(a => a.href)"
        ) + page.eval_on_selector_all(
            "form",
            """forms => forms.filter(f => (f.getAttribute('method') || 'get').toLowerCase() === 'get')
                .map(f => { const q = new URLSearchParams(new FormData(f)).toString();
                            return f.action + (q ? '?' + q : ''); })""",
        )
        for target in targets:
            address = urljoin(page.url, target).split("#", 1)[0]
            if urlsplit(address)[:2] != origin or address in self.followed:
                continue
            response = page.context.request.get(address)
            self.followed[address] = response.status
            assert response.status < 400, f"{page.url} links to {address}: {response.status}"
            kind = response.headers.get("content-type", "")
            if kind.startswith("text/html"):
                body = response.text()
                assert 'aria-label="Main"' in body, f"{address} has no navigation bar"


@pytest.fixture
def day(person: People) -> Callable[[str, tuple[str, str]], Day]:
    def start(handle: str, clock_of: tuple[str, str]) -> Day:
        zone, locale = clock_of
        page = person(handle, timezone_id=zone, locale=locale)
        expect(page.locator("footer")).to_contain_text(zone)
        return Day(page, zone, locale)

    return start


def find(day: Day, words: str, title: str, shot: str = "") -> None:
    """Type into the header's search box and open the request whose title matches."""
    page = day.page
    box = page.get_by_role("searchbox", name="Search requests, cases and people")
    box.fill(words)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?"))
    if shot:
        screenshot(page, shot)
    day.check()
    page.locator("#found-requests + ol").get_by_role("link", name=title).click()
    page.wait_for_url(re.compile(r"/requests/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)


# ---- the five roles --------------------------------------------------------------------------


def test_a_requesters_day(day: Callable[[str, tuple[str, str]], Day], desk: Desk) -> None:
    asha = day("asha", KOLKATA)
    page = asha.page
    asha.check()  # Home: her open requests (more than it shows), the question to her
    questions = page.locator("#sec-questions")
    expect(questions).to_contain_text("Driver HM-5150 missing from the schedule")
    screenshot(page, "home-requester")

    find(asha, "HM-5150", "Driver HM-5150 missing from the schedule")
    expect(page.locator(".note")).to_contain_text("Which driver")
    asha.check()
    page.get_by_label("Your answer").fill("The learner, from 1 March.")
    page.get_by_role("button", name="Send answer").click()
    expect(page.locator(".flash")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("The learner, from 1 March.")

    rid = raise_request(
        page, "policy", "Correct a policy document", "Spare key HM-3333 not covered"
    )
    asha.check()
    page.get_by_text("Withdraw this request").click()
    page.get_by_label("Why is it no longer needed?").fill("The broker sorted it out.")
    page.get_by_role("button", name="Withdraw the request").click()
    expect(page).to_have_url(re.compile(rf"/requests/{rid}$"))
    expect(page.locator(".flash")).to_contain_text("Withdrawn")
    asha.check()

    page.goto("/requests")
    asha.check()
    assert len(asha.followed) > 10  # the navigation alone has more
    assert asha.times_checked > 0
    assert asha.lists_checked > 0


def test_a_team_members_day(day: Callable[[str, tuple[str, str]], Day], desk: Desk) -> None:
    cleo = day("cleo", NEW_YORK)
    page = cleo.page
    offers = page.locator("#sec-offers")
    # Every waiting request is offered to her team; Home shows the first few and the true count.
    expect(offers.locator("summary .count")).to_have_text(str(UNANSWERED))
    cleo.check()

    title = "Renewal letter HM-7003 names the old broker"
    find(cleo, "HM-7003", title)
    page.get_by_role("button", name="Accept — I own it").click()
    expect(page.locator(".flash")).to_contain_text("You are now the owner")
    page.get_by_label("Update", exact=True).fill("Found the broker change; letter being redone.")
    page.get_by_role("button", name="Post update").click()
    expect(page.locator("#timeline")).to_contain_text("Cleo Clerk posted an update")
    expect(page.locator("main")).to_contain_text("letter being redone")

    page.get_by_text("Make a promise", exact=True).click()
    page.get_by_label("What will you do?").fill("Send the corrected letter")
    page.get_by_label("By when? (New York time)").fill("2026-03-03T10:00")
    page.get_by_role("button", name="Promise", exact=True).click()
    ten_in_new_york = datetime(2026, 3, 3, 10, tzinfo=ZoneInfo("America/New_York"))
    expect(page.locator("#promises")).to_contain_text(en_us(ten_in_new_york))

    page.get_by_label("Attach a file").set_input_files(
        files=FilePayload(name="Letter HM-7003.pdf", mimeType="application/pdf", buffer=files.pdf())
    )
    page.get_by_role("button", name="Attach", exact=True).click()
    expect(page.locator(".flash")).to_have_text("File attached.")
    notes = page.locator("#notes")
    notes.get_by_text("Add an internal note").click()
    notes.get_by_label("Internal note").fill("The broker moved in January; check other letters.")
    notes.get_by_role("button", name="Add internal note").click()
    expect(page.locator(".flash")).to_have_text("Internal note added.")
    cleo.check()  # the request page: the file's download link is followed too

    page.goto("/")
    expect(offers.locator("summary .count")).to_have_text(str(UNANSWERED - 1))
    cleo.check()
    page.goto("/team")
    cleo.check()
    assert len(cleo.followed) > 10  # the navigation alone has more
    assert cleo.times_checked > 0
    assert cleo.lists_checked > 0


def test_a_duty_owners_day(day: Callable[[str, tuple[str, str]], Day], desk: Desk) -> None:
    dan = day("dan", KOLKATA)
    page = dan.page
    dan.check()

    find(dan, "HM-7004", "Renewal letter HM-7004 names the old broker", shot="search")
    page.get_by_text("Hand off", exact=True).click()
    page.get_by_label("Offer it to").select_option(label="Cleo Clerk (Policy Admin)")
    page.get_by_label("What was already done?").fill("Checked the schedule: the broker is wrong.")
    page.get_by_role("button", name="Offer", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("You stay accountable")
    dan.check()

    title = "Renewal letter HM-7005 names the old broker"
    find(dan, "HM-7005", title)
    page.get_by_text("Decline…").click()
    page.get_by_label("Why are you declining?").fill("Broker letters are Distribution's.")
    page.get_by_role("button", name="Decline with this reason").click()
    # Dan took part in it, so he may still read it: the request page says where it went.
    expect(page.locator(".flash")).to_contain_text(
        f"You declined #{desk.waiting[5]} {title}; it is with Tess Triage (Triage)"
    )
    dan.check()
    page.goto("/")
    dan.check()
    assert len(dan.followed) > 10  # the navigation alone has more
    assert dan.times_checked > 0


def test_a_leads_day(day: Callable[[str, tuple[str, str]], Day], desk: Desk) -> None:
    lee = day("lee", NEW_YORK)
    page = lee.page
    # Each waiting request went past its accept target and was escalated to Lee.
    expect(page.locator("#sec-escalations summary .count")).to_have_text(str(UNANSWERED))
    lee.check()
    page.get_by_role("link", name="Lead board").click()
    page.wait_for_url(re.compile(r"/board$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Lead board: Policy Admin")
    expect(page.locator("#sec-escalations summary .count")).to_have_text(str(UNANSWERED))
    lee.check()
    screenshot(page, "lead-board-escalations")
    page.locator("#sec-escalations .see-all a").click()
    page.wait_for_url(re.compile(r"/board/list\?"))
    expect(page.locator("main ul.items > li")).to_have_count(UNANSWERED)
    screenshot(page, "see-all")

    first, second = desk.duplicate
    find(lee, "HM-9090", "Address HM-9090 still out of date")
    page.get_by_text("Merge into another request").click()
    page.get_by_label("The request this one duplicates").fill(f"#{first}")
    page.get_by_label("Why they are the same").fill("Same policy, same address")
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/requests/{first}$"))
    expect(page.locator(".flash")).to_contain_text(f"Merged #{second} into this request")
    lee.check()
    assert len(lee.followed) > 10  # the navigation alone has more
    assert lee.times_checked > 0
    assert lee.lists_checked >= 2


def test_an_admins_day(
    day: Callable[[str, tuple[str, str]], Day], desk: Desk, small_world: World
) -> None:
    ada = day("ada", KOLKATA)
    page = ada.page
    ada.check()
    find(ada, "HM-7001", "Renewal letter HM-7001 names the old broker")
    ada.check()

    page.get_by_role("link", name="Admin", exact=True).click()
    page.wait_for_url(re.compile(r"/admin$"))
    ada.check()
    page.goto(f"/admin/teams/{small_world.teams['admin']}")
    page.get_by_label("Sat").check()
    page.get_by_role("button", name="Save working hours").click()
    expect(page.locator(".lede")).to_contain_text("Mon\u2013Sat")
    screenshot(page, "admin-team")
    ada.check()

    page.goto("/admin")
    row = page.locator(f"#person-{small_world.people['otto']}")
    row.get_by_text("Deactivate").first.click()
    row.get_by_role("button", name="Deactivate Otto Outsider").click()
    expect(page.locator(".flash")).to_contain_text("Otto Outsider can no longer sign in")
    expect(page.locator("#changes")).to_contain_text("Otto Outsider deactivated")
    ada.check()
    assert len(ada.followed) > 10  # the navigation alone has more
    assert ada.times_checked > 0
