"""The training programme's pages: for learning leads (team leads and admins) the catalog,
cohorts, sessions, attendance, completion and the effect report; for everyone their own plan
and record. They only translate forms to the service, which holds the rules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response
from sqlalchemy import select

from followthrough.errors import InvalidInput, NotAllowed
from followthrough.fields import Id, form_id
from followthrough.insight.effect import format_change
from followthrough.learning import rules, service
from followthrough.org.models import Person, Team
from followthrough.practice.roleplay.rubric import BEHAVIOURS, Block
from followthrough.web.deps import UnitOfWorkRoute
from followthrough.web.pages import ChangePage, FormErrors, Page, ReadPage

router = APIRouter(route_class=UnitOfWorkRoute, include_in_schema=False)

HOME = "/learning"
LEVELS = {"person": "people", "team": "teams"}
VERDICT_WORDS = {
    "better": "Better",
    "worse": "Worse",
    "no effect shown": "No effect shown",
    "too little data": "Too little data to tell",
}
SOURCE_WORDS = {
    "role play": "from role plays",
    "observer": "from an observer",
    "desk": "from the requesters' ratings on the desk",
}

SCORER_WORDS = {"participant": "Participants", "observer": "Observers", "automatic": "Automatic"}


def _lead_only(page: Page) -> None:
    if not page.viewer.leads:
        raise NotAllowed("only team leads and admins run the training programme")


def _number(page: Page, name: str, what: str) -> int:
    number = form_id(page.form.get(name))
    if number is None:
        raise InvalidInput(f"choose {what}", field=name)
    return number


def _people(page: Page) -> list[tuple[int, str]]:
    return list(
        page.session.execute(
            select(Person.id, Person.name).where(Person.active.is_(True)).order_by(Person.name)
        ).all()
    )


def _home(page: Page, cohort_id: int | None = None, errors: FormErrors | None = None) -> Response:
    _lead_only(page)
    catalog = service.catalog(page.session)
    cohorts = service.cohorts(page.session)
    chosen = next((c for c in cohorts if c.id == cohort_id), None)
    people = _people(page)
    teams = page.session.execute(select(Team.id, Team.name).order_by(Team.name)).all()
    return page.render(
        "learning/home.html",
        catalog=catalog,
        cohorts=cohorts,
        chosen=chosen,
        members=service.cohort_members(page.session, chosen.id) if chosen else [],
        people=people,
        module_options=[(m.id, m.name) for m in catalog],
        block_options=[(b, b.capitalize()) for b in rules.BLOCKS],
        whom=[(f"team:{t}", f"Team: {name}") for t, name in teams]
        + [(f"person:{p}", name) for p, name in people],
        errors=errors,
        status=errors.status if errors else 200,
    )


@router.get(HOME)
def learning_page(page: ReadPage, cohort: Id | None = None) -> Response:
    return _home(page, cohort)


# On the attendance and completion forms the session and the person are the button pressed,
# not fields: a refusal naming them tops the form.
_NOT_A_FIELD = {"session": "", "person": ""}


def _change(
    page: Page,
    form: str,
    cohort_id: int | None,
    action: Callable[[], object],
    said: str,
    rename: Mapping[str, str] | None = None,
) -> Response:
    _lead_only(page)
    errors = page.attempt(form, action, rename)
    if errors:
        return _home(page, cohort_id, errors)
    where = f"{HOME}?cohort={cohort_id}#cohort" if cohort_id else HOME
    return page.redirect(where, said)


@router.post(f"{HOME}/cohorts")
def open_cohort(page: ChangePage) -> Response:
    made: list[int] = []

    def save() -> None:
        module = _number(page, "module", "a module")
        made.append(
            service.open_cohort(
                page.session, module, page.form.get("name"), page.viewer.person_id, page.now
            )
        )

    _lead_only(page)
    errors = page.attempt("cohort", save)
    if errors:
        return _home(page, None, errors)
    return page.redirect(f"{HOME}?cohort={made[0]}#cohort", "The cohort is open: add its sessions.")


@router.post(f"{HOME}/cohorts/{{cohort_id}}/sessions")
def add_session(cohort_id: Id, page: ChangePage) -> Response:
    def save() -> None:
        starts_at = page.typed_instant("starts_at", "Start")
        ends_at = page.typed_instant("ends_at", "End")
        service.add_session(page.session, cohort_id, starts_at, ends_at)

    return _change(page, "session", cohort_id, save, "The session is added.")


@router.post(f"{HOME}/cohorts/{{cohort_id}}/members")
def enrol(cohort_id: Id, page: ChangePage) -> Response:
    def save() -> None:
        person = _number(page, "person", "a person")
        service.enrol(page.session, cohort_id, person, page.now)

    return _change(page, "member", cohort_id, save, "They are in the cohort.")


@router.post(f"{HOME}/sessions/{{session_id}}/attendance")
def attendance(session_id: Id, page: ChangePage) -> Response:
    cohort_id = form_id(page.form.get("cohort"))

    def save() -> None:
        members = [n for n in map(form_id, page.form.getlist("member")) if n is not None]
        present = {n for n in map(form_id, page.form.getlist("present")) if n is not None}
        service.record_attendance(
            page.session,
            session_id,
            {p: p in present for p in members},
            page.viewer.person_id,
            page.now,
        )

    return _change(page, "attendance", cohort_id, save, "Attendance is recorded.", _NOT_A_FIELD)


@router.post(f"{HOME}/cohorts/{{cohort_id}}/completions")
def complete(cohort_id: Id, page: ChangePage) -> Response:
    def save() -> None:
        person = _number(page, "person", "a person")
        service.complete(page.session, cohort_id, person, page.now)

    return _change(page, "complete", cohort_id, save, "Marked as completed.", _NOT_A_FIELD)


@router.post(f"{HOME}/plans")
def add_plan(page: ChangePage) -> Response:
    def save() -> None:
        module = _number(page, "module", "a module")
        whom = page.form.get("for")
        kind, _, typed = whom.partition(":")
        number = form_id(typed)
        if number is None or kind not in ("person", "team"):
            raise InvalidInput("choose a person or a team", field="for")
        due = page.form.get("due_at")
        due_at = page.typed_instant("due_at", "Due by") if due else None
        service.plan(
            page.session,
            module,
            page.now,
            page.viewer.person_id,
            person_id=number if kind == "person" else None,
            team_id=number if kind == "team" else None,
            due_at=due_at,
        )

    return _change(page, "plan", None, save, "Added to the learning plan.")


@router.post(f"{HOME}/evidence")
def add_evidence(page: ChangePage) -> Response:
    def save() -> None:
        person = _number(page, "person", "a person")
        score = page.form.get("score")
        if score not in ("1", "2", "3", "4", "5"):
            raise InvalidInput("give a score from 1 to 5", field="score")
        service.add_evidence(
            page.session,
            person,
            page.form.get("block"),
            float(score),
            "observer",
            page.viewer.person_id,
            page.now,
            page.form.get("note").strip()[:2000],
        )

    return _change(page, "evidence", None, save, "The observation is on their record.")


@router.get(f"{HOME}/effect")
def effect_page(
    page: ReadPage, module: Id | None = None, level: Literal["person", "team"] = "person"
) -> Response:
    _lead_only(page)
    modules = service.modules(page.session)
    report = None
    problem = ""
    if module is not None and module in {m for m, _ in modules}:
        report = service.effect_report(page.session, module, level, page.now)
    elif module is not None:
        problem = "There is no such module: choose one from the list."
    return page.render(
        "learning/effect.html",
        modules=modules,
        chosen=module,
        level=level,
        levels=LEVELS,
        report=report,
        problem=problem,
        change=format_change,
        verdict_words=VERDICT_WORDS,
        status=404 if problem else 200,
    )


@router.get(f"{HOME}/mine")
def mine_page(page: ReadPage) -> Response:
    record, evidence = service.my_record(page.session, page.viewer.person_id, page.now)
    return page.render(
        "learning/mine.html",
        plan=service.my_plan(page.session, page.viewer.person_id),
        record=record,
        evidence=evidence,
        source_words=SOURCE_WORDS,
    )


@router.get(f"{HOME}/debrief")
def cohort_debrief_page(page: ReadPage, cohort: Id | None = None) -> Response:
    """A cohort's live role plays taken together: per behaviour how often each scorer heard it
    and how far apart the people were; per participant their means. No cohort: choose one."""
    _lead_only(page)
    choices = service.cohort_choices(page.session)
    debrief = None
    problem = ""
    if cohort is not None and cohort in {c for c, _ in choices}:
        debrief = service.cohort_debrief(page.session, cohort)
    elif cohort is not None:
        problem = "There is no such cohort: choose one from the list."
    return page.render(
        "learning/debrief.html",
        choices=choices,
        chosen=cohort,
        debrief=debrief,
        problem=problem,
        blocks=[(b, b.value.capitalize()) for b in Block],
        behaviour_titles={rule.behaviour: rule.title for rule in BEHAVIOURS},
        scorer_words=SCORER_WORDS,
        status=404 if problem else 200,
    )
