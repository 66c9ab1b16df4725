"""The demo insurer as data: departments, teams, people, calendars, the catalog and how each team
behaves. `write_company` creates it through the organisation services.

Team behaviour is what makes the history tell the story: Policy Admin is slow to accept, declines
and bounces more and breaks more promises; Customer Service is fast and keeps its word.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from followthrough.org import service as org
from followthrough.org.models import Department, Person, Team
from followthrough.org.rules import WorkingCalendar
from followthrough.org.service import calendar_of

# Every row the organisation services stamp with "now" gets this instead, so runs are identical.
ORG_CREATED_AT = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Behaviour:
    """How a team works. Probabilities are per request; factors scale the service targets."""

    accept_factor: float  # median time to accept, as a share of the acceptance target
    work_factor: float  # median working time, as a share of the resolve target
    direct_offer: float  # the duty owner hands the request to a named colleague
    decline: float  # an offer to the team or one of its people is declined
    handoff: float  # the request turns out to need another team as well
    bounce: float  # ...which hands it back again
    clarify: float  # a question goes back to the requester
    wait: float  # the request waits on an outside party
    sub_request: float  # the request needs a sub-request to another team
    promise: float  # a promise is made to the requester
    keep: float  # a promise is kept
    diligence: float  # an update is posted before it falls due
    reopen: float  # the requester reopens the resolution
    quality: float  # typical rating (1-5) when nothing goes wrong


STEADY = Behaviour(
    accept_factor=0.5,
    work_factor=0.45,
    direct_offer=0.25,
    decline=0.06,
    handoff=0.06,
    bounce=0.15,
    clarify=0.08,
    wait=0.06,
    sub_request=0.03,
    promise=0.3,
    keep=0.85,
    diligence=0.8,
    reopen=0.04,
    quality=4.0,
)
SLOW_AND_ERROR_PRONE = Behaviour(
    accept_factor=1.3,
    work_factor=0.8,
    direct_offer=0.6,
    decline=0.15,
    handoff=0.2,
    bounce=0.35,
    clarify=0.15,
    wait=0.08,
    sub_request=0.07,
    promise=0.4,
    keep=0.55,
    diligence=0.5,
    reopen=0.12,
    quality=3.0,
)
FAST = Behaviour(
    accept_factor=0.2,
    work_factor=0.3,
    direct_offer=0.1,
    decline=0.02,
    handoff=0.04,
    bounce=0.08,
    clarify=0.05,
    wait=0.03,
    sub_request=0.02,
    promise=0.5,
    keep=0.94,
    diligence=0.92,
    reopen=0.02,
    quality=4.5,
)
CAREFUL = Behaviour(
    accept_factor=0.6,
    work_factor=0.5,
    direct_offer=0.3,
    decline=0.08,
    handoff=0.08,
    bounce=0.12,
    clarify=0.12,
    wait=0.12,
    sub_request=0.03,
    promise=0.25,
    keep=0.8,
    diligence=0.75,
    reopen=0.03,
    quality=4.0,
)


@dataclass(frozen=True)
class ServiceSpec:
    """A catalog entry with its OLA targets, how often it is asked for and by whom."""

    key: str
    name: str
    accept: float
    update_every: float
    resolve: float
    auto_close_days: int
    weight: float
    asked_by: tuple[str, ...]
    titles: tuple[str, ...]
    resolutions: tuple[str, ...]
    confidential: bool = False


@dataclass(frozen=True)
class TeamSpec:
    key: str
    name: str
    department: str
    # Handles: the lead first, then the duty owner (when it is someone else), then members.
    lead: str
    members: tuple[str, ...]
    behaviour: Behaviour
    duty_owner: str | None = None
    timezone: str = "Europe/London"
    day_start_minute: int = 9 * 60
    day_end_minute: int = 17 * 60
    working_days: str = "12345"
    holidays: str = "england"
    is_triage: bool = False
    # Teams a request of this team is most often passed on to.
    neighbours: tuple[str, ...] = ()
    services: tuple[ServiceSpec, ...] = ()


HOLIDAYS: dict[str, tuple[tuple[date, str], ...]] = {
    "england": (
        (date(2026, 5, 25), "Spring bank holiday"),
        (date(2026, 8, 31), "Summer bank holiday"),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 28), "Boxing Day (substitute day)"),
        (date(2027, 1, 1), "New Year's Day"),
    ),
    "ireland": (
        (date(2026, 6, 1), "June bank holiday"),
        (date(2026, 8, 3), "August bank holiday"),
        (date(2026, 10, 26), "October bank holiday"),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 28), "St Stephen's Day (in lieu)"),
        (date(2027, 1, 1), "New Year's Day"),
    ),
    "india": (
        (date(2026, 10, 2), "Gandhi Jayanti"),
        (date(2026, 10, 20), "Dussehra"),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2027, 1, 26), "Republic Day"),
    ),
}

PEOPLE: dict[str, str] = {
    "marcus": "Marcus Reid",
    "asha": "Asha Mensah",
    "tom": "Tom Hughes",
    "nina": "Nina Kowalski",
    "raj": "Raj Patel",
    "ellie": "Ellie Burns",
    "sam": "Sam Adeyemi",
    "grace": "Grace Liu",
    "helen": "Helen Ward",
    "owen": "Owen Price",
    "fatima": "Fatima Khan",
    "jack": "Jack Dunn",
    "mia": "Mia Rossi",
    "leo": "Leo Byrne",
    "linda": "Linda Okoro",
    "priya": "Priya Shah",
    "colin": "Colin Barker",
    "dawn": "Dawn Fisher",
    "kevin": "Kevin Moss",
    "sophie": "Sophie Grant",
    "aaron": "Aaron Cole",
    "bea": "Bea Turner",
    "martin": "Martin Hale",
    "zoe": "Zoe Clarke",
    "ian": "Ian Marsh",
    "ruth": "Ruth Evans",
    "siobhan": "Siobhan Walsh",
    "conor": "Conor Doyle",
    "aoife": "Aoife Ryan",
    "niall": "Niall Brennan",
    "orla": "Orla Kelly",
    "declan": "Declan Murphy",
    "jade": "Jade Thompson",
    "ben": "Ben Carter",
    "chloe": "Chloe Wright",
    "amir": "Amir Haddad",
    "lucy": "Lucy Green",
    "ryan": "Ryan Scott",
    "hannah": "Hannah Lewis",
    "omar": "Omar Farouk",
    "tess": "Tess Morgan",
    "will": "Will Baker",
    "ivy": "Ivy Chen",
    "frank": "Frank Osei",
    "paula": "Paula Nowak",
    "gary": "Gary Wood",
    "yasmin": "Yasmin Ali",
    "rachel": "Rachel Stone",
    "eddie": "Eddie Lam",
    "kate": "Kate Hill",
    "victor": "Victor Nunes",
    "ali": "Ali Rahman",
    "jess": "Jess Parker",
    "dan": "Dan Foster",
    "arjun": "Arjun Mehta",
    "kavya": "Kavya Iyer",
    "rohan": "Rohan Das",
    "hana": "Hana Brooks",
    "olivia": "Olivia James",
    "ada": "Ada Osei",
}
ADMINS = frozenset({"ada"})

CLAIMS = ("motor", "property")
FRONT = ("motor", "property", "customer_service")


def _svc(
    key: str,
    name: str,
    targets: tuple[float, float, float, int],
    weight: float,
    asked_by: tuple[str, ...],
    titles: tuple[str, ...],
    resolutions: tuple[str, ...],
    *,
    confidential: bool = False,
) -> ServiceSpec:
    accept, update_every, resolve, auto_close_days = targets
    return ServiceSpec(
        key,
        name,
        accept,
        update_every,
        resolve,
        auto_close_days,
        weight,
        asked_by,
        titles,
        resolutions,
        confidential,
    )


TEAMS: tuple[TeamSpec, ...] = (
    TeamSpec(
        "motor",
        "Motor Claims",
        "Claims",
        lead="marcus",
        duty_owner="grace",
        members=("asha", "tom", "nina", "raj", "ellie", "sam"),
        behaviour=STEADY,
        neighbours=("payments", "policy_admin", "underwriting"),
        services=(
            _svc(
                "review_motor",
                "Review a motor claim",
                (2, 8, 24, 5),
                3,
                ("customer_service", "payments"),
                (
                    "Review motor claim {claim} for {customer}",
                    "Second opinion on the repair estimate for {claim}",
                ),
                ("Claim reviewed and decision recorded on {claim}.",),
            ),
            _svc(
                "authorise_repair",
                "Authorise a repair estimate",
                (2, 4, 8, 3),
                2,
                ("customer_service",),
                ("Authorise the garage estimate on {claim}",),
                ("Estimate authorised; garage told to proceed.",),
            ),
        ),
    ),
    TeamSpec(
        "property",
        "Property Claims",
        "Claims",
        lead="helen",
        members=("owen", "fatima", "jack", "mia", "leo"),
        behaviour=CAREFUL,
        neighbours=("payments", "policy_admin", "underwriting"),
        services=(
            _svc(
                "review_property",
                "Review a property claim",
                (4, 8, 40, 5),
                2.5,
                ("customer_service", "payments"),
                (
                    "Review escape-of-water claim {claim} for {customer}",
                    "Storm damage claim {claim}: check the photos",
                ),
                ("Claim reviewed; settlement offer sent on {claim}.",),
            ),
            _svc(
                "loss_adjuster",
                "Appoint a loss adjuster",
                (4, 8, 16, 5),
                1,
                ("customer_service",),
                ("Appoint a loss adjuster for {claim}",),
                ("Loss adjuster appointed; visit booked with {customer}.",),
            ),
        ),
    ),
    TeamSpec(
        "policy_admin",
        "Policy Admin",
        "Policy Administration",
        lead="linda",
        duty_owner="priya",
        members=("colin", "dawn", "kevin", "sophie", "aaron", "bea"),
        behaviour=SLOW_AND_ERROR_PRONE,
        neighbours=("underwriting", "renewals", "core_systems", "billing"),
        services=(
            _svc(
                "correct_policy",
                "Correct a policy document",
                (2, 4, 16, 3),
                4,
                ("motor", "property", "customer_service", "underwriting"),
                (
                    "Correct the error on policy {policy}",
                    "Wrong sum insured on policy {policy}",
                    "Wrong address on policy {policy}",
                    "Named driver missing from policy {policy}",
                ),
                (
                    "Policy {policy} corrected and a new schedule issued.",
                    "Corrected from the start date; documents re-sent to {customer}.",
                ),
            ),
            _svc(
                "change_details",
                "Change policy details",
                (4, 8, 24, 5),
                3,
                ("customer_service", "renewals"),
                (
                    "Change of vehicle on policy {policy}",
                    "Add a joint policyholder to {policy}",
                ),
                ("Change made on {policy}; confirmation sent to {customer}.",),
            ),
            _svc(
                "reissue_documents",
                "Reissue policy documents",
                (4, 8, 16, 5),
                2,
                ("customer_service", "motor", "property"),
                ("Reissue the documents for policy {policy}",),
                ("Documents reissued for {policy}.",),
            ),
            _svc(
                "cancel_policy",
                "Cancel a policy",
                (4, 8, 24, 5),
                1,
                ("customer_service", "billing"),
                ("Cancel policy {policy} from the end of the month",),
                ("Policy {policy} cancelled; refund passed to Billing.",),
            ),
        ),
    ),
    TeamSpec(
        "renewals",
        "Renewals",
        "Policy Administration",
        lead="martin",
        members=("zoe", "ian", "ruth", "dawn"),
        behaviour=STEADY,
        neighbours=("policy_admin", "underwriting", "billing"),
        services=(
            _svc(
                "renewal_quote",
                "Check a renewal quote",
                (4, 8, 24, 5),
                2,
                ("customer_service",),
                ("Renewal quote for {policy} looks too high",),
                ("Quote checked and re-rated for {policy}.",),
            ),
            _svc(
                "renewal_discount",
                "Apply a renewal discount",
                (4, 8, 16, 5),
                1,
                ("customer_service",),
                ("Apply the loyalty discount at renewal of {policy}",),
                ("Discount applied to the renewal of {policy}.",),
            ),
        ),
    ),
    TeamSpec(
        "underwriting",
        "Underwriting",
        "Underwriting",
        lead="siobhan",
        members=("conor", "aoife", "niall", "orla", "declan"),
        behaviour=CAREFUL,
        timezone="Europe/Dublin",
        holidays="ireland",
        neighbours=("policy_admin", "renewals"),
        services=(
            _svc(
                "approve_cover",
                "Approve a change in cover",
                (4, 8, 24, 5),
                2,
                ("policy_admin", "renewals", "motor", "property"),
                (
                    "Approve the corrected sum insured on {policy}",
                    "Approve adding a young driver to {policy}",
                ),
                ("Approved for {policy}; no extra premium.", "Approved with an extra premium."),
            ),
            _svc(
                "refer_risk",
                "Refer a high-value risk",
                (8, 16, 40, 5),
                0.7,
                ("renewals", "property"),
                ("High-value contents on {policy} need a referral",),
                ("Risk accepted with a survey condition.",),
            ),
        ),
    ),
    TeamSpec(
        "customer_service",
        "Customer Service",
        "Customer Service",
        lead="jade",
        duty_owner="ben",
        members=("chloe", "amir", "lucy", "ryan", "hannah", "omar"),
        behaviour=FAST,
        day_start_minute=8 * 60,
        day_end_minute=18 * 60,
        working_days="123456",
        neighbours=("policy_admin", "billing", "motor"),
        services=(
            _svc(
                "call_back",
                "Call a customer back",
                (1, 2, 4, 2),
                4,
                ("motor", "property", "policy_admin", "payments", "billing", "renewals"),
                (
                    "Call {customer} back about {claim}",
                    "Call {customer} back about policy {policy}",
                ),
                ("Called {customer}; they are happy with the answer.",),
            ),
            _svc(
                "customer_letter",
                "Send a customer letter",
                (2, 4, 8, 3),
                2,
                ("motor", "property", "policy_admin"),
                ("Send {customer} the claim decision letter for {claim}",),
                ("Letter sent to {customer}.",),
            ),
            _svc(
                "complaint",
                "Handle a complaint",
                (2, 8, 40, 5),
                1,
                ("motor", "property", "policy_admin", "payments"),
                ("{customer} complains about the delay on {claim}",),
                ("Complaint answered; goodwill payment agreed with {customer}.",),
            ),
        ),
    ),
    TeamSpec(
        "service_desk",
        "Service Desk",
        "Customer Service",
        lead="tess",
        members=("will", "ivy"),
        behaviour=FAST,
        is_triage=True,
    ),
    TeamSpec(
        "payments",
        "Claims Payments",
        "Finance",
        lead="frank",
        members=("paula", "gary", "yasmin"),
        behaviour=STEADY,
        neighbours=("billing", "motor", "property"),
        services=(
            _svc(
                "pay_claim",
                "Pay a claim",
                (4, 8, 16, 5),
                3,
                CLAIMS,
                ("Pay the settlement on {claim}",),
                ("Payment made on {claim}.",),
            ),
            _svc(
                "reissue_payment",
                "Stop or reissue a payment",
                (2, 4, 8, 3),
                1,
                (*CLAIMS, "customer_service"),
                ("Payment on {claim} bounced: reissue it to the new account",),
                ("Payment reissued on {claim}.",),
            ),
        ),
    ),
    TeamSpec(
        "billing",
        "Billing",
        "Finance",
        lead="rachel",
        members=("eddie", "kate"),
        behaviour=STEADY,
        neighbours=("policy_admin", "payments"),
        services=(
            _svc(
                "refund_premium",
                "Refund a premium",
                (4, 8, 24, 5),
                1.5,
                ("customer_service", "policy_admin"),
                ("Refund the overpaid premium on {policy}",),
                ("Refund paid on {policy}.",),
            ),
            _svc(
                "direct_debit",
                "Fix a direct debit",
                (4, 8, 16, 5),
                1.5,
                ("customer_service", "renewals"),
                ("Direct debit failed twice on {policy}",),
                ("Direct debit set up again on {policy}.",),
            ),
        ),
    ),
    TeamSpec(
        "it_desk",
        "IT Service Desk",
        "IT",
        lead="victor",
        members=("ali", "jess", "dan", "ada"),
        behaviour=FAST,
        neighbours=("core_systems",),
        services=(
            _svc(
                "reset_access",
                "Reset access",
                (1, 2, 4, 2),
                2,
                (*FRONT, "policy_admin", "underwriting", "payments", "billing", "renewals"),
                ("Locked out of the claims system", "Reset my VPN token"),
                ("Access reset; signed in again.",),
            ),
            _svc(
                "fix_device",
                "Fix a laptop or phone",
                (4, 8, 16, 5),
                1.5,
                (*FRONT, "policy_admin", "underwriting"),
                ("Laptop will not start", "Headset not working on calls"),
                ("Device replaced.", "Driver updated; working again."),
            ),
        ),
    ),
    TeamSpec(
        "core_systems",
        "Core Systems",
        "IT",
        lead="arjun",
        members=("kavya", "rohan"),
        behaviour=CAREFUL,
        timezone="Asia/Kolkata",
        day_start_minute=9 * 60 + 30,
        day_end_minute=18 * 60,
        holidays="india",
        neighbours=("it_desk", "policy_admin"),
        services=(
            _svc(
                "system_defect",
                "Fix a policy system defect",
                (8, 16, 80, 5),
                0.8,
                ("policy_admin", "renewals", "it_desk"),
                ("Policy system prints the wrong excess on {policy}",),
                ("Defect fixed in release; {policy} re-generated.",),
            ),
            _svc(
                "data_correction",
                "Run a data correction",
                (8, 16, 40, 5),
                0.8,
                ("policy_admin", "billing"),
                ("Bulk-correct postcodes imported wrongly, including {policy}",),
                ("Data correction run; affected policies fixed.",),
            ),
        ),
    ),
    TeamSpec(
        "hr",
        "HR",
        "People",
        lead="hana",
        members=("olivia",),
        behaviour=CAREFUL,
        services=(
            _svc(
                "grievance",
                "Raise a grievance",
                (8, 16, 80, 10),
                0.1,
                (*FRONT, "policy_admin", "payments"),
                ("Raise a grievance",),
                ("Grievance heard; outcome letter sent.",),
                confidential=True,
            ),
            _svc(
                "leave_pay",
                "Ask about leave or pay",
                (4, 8, 16, 5),
                0.8,
                (*FRONT, "policy_admin", "underwriting", "it_desk", "payments"),
                ("Question about my holiday allowance", "Overtime missing from my payslip"),
                ("Answered; payroll corrected.",),
            ),
        ),
    ),
)

DEPARTMENTS = tuple(dict.fromkeys(t.department for t in TEAMS))


@dataclass
class Company:
    """The created organisation: ids by key, calendars, and who belongs where."""

    people: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    team_specs: dict[str, TeamSpec] = field(default_factory=dict)
    services: dict[str, int] = field(default_factory=dict)
    service_specs: dict[str, ServiceSpec] = field(default_factory=dict)
    service_team: dict[str, str] = field(default_factory=dict)
    calendars: dict[str, WorkingCalendar] = field(default_factory=dict)
    # People of a team (lead included) and each person's home team.
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    home_team: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def lead(self, team: str) -> str:
        return self.team_specs[team].lead

    def duty_owner(self, team: str) -> str:
        spec = self.team_specs[team]
        return spec.duty_owner or spec.lead


# The language and region dates are written in, by a home team's time zone.
HOME_LOCALES = {"Asia/Kolkata": "en_IN", "Europe/Dublin": "en_IE", "Europe/London": "en_GB"}


def write_company(session: Session, password_hash: str) -> Company:
    """Create departments, people, teams, calendars and the catalog through the org services."""
    company = Company()
    rows: list[Department | Person | Team] = []
    departments: dict[str, int] = {}
    for name in DEPARTMENTS:
        department = org.add_department(session, name)
        rows.append(department)
        departments[name] = department.id
    for handle, name in PEOPLE.items():
        person = org.add_person(
            session,
            handle,
            name,
            f"{handle}@insurer.example",
            password_hash=password_hash,
            is_admin=handle in ADMINS,
        )
        rows.append(person)
        company.people[handle] = person.id
        company.names[handle] = name
    for spec in TEAMS:
        team = org.add_team(
            session,
            departments[spec.department],
            spec.name,
            timezone=spec.timezone,
            day_start_minute=spec.day_start_minute,
            day_end_minute=spec.day_end_minute,
            working_days=spec.working_days,
            lead_id=company.people[spec.lead],
            duty_owner_id=None if spec.duty_owner is None else company.people[spec.duty_owner],
        )
        team.is_triage = spec.is_triage
        rows.append(team)
        company.teams[spec.key] = team.id
        company.team_specs[spec.key] = spec
        everyone = (spec.lead, *((spec.duty_owner,) if spec.duty_owner else ()), *spec.members)
        company.members[spec.key] = everyone
        for handle in everyone:
            org.add_member(session, team.id, company.people[handle])
            company.home_team.setdefault(handle, spec.key)
        holidays = HOLIDAYS[spec.holidays]
        for day, name in holidays:
            org.add_holiday(session, team.id, day, name)
        company.calendars[spec.key] = calendar_of(team, [day for day, _ in holidays])
        for service_spec in spec.services:
            service = org.add_service(
                session,
                team.id,
                service_spec.name,
                description=f"{spec.name}: {service_spec.name.lower()}.",
                confidential=service_spec.confidential,
                accept_target_hours=service_spec.accept,
                update_every_hours=service_spec.update_every,
                resolve_target_hours=service_spec.resolve,
                auto_close_days=service_spec.auto_close_days,
            )
            company.services[service_spec.key] = service.id
            company.service_specs[service_spec.key] = service_spec
            company.service_team[service_spec.key] = spec.key
    # Each person reads times on their home team's clock until they choose another on their
    # profile: Core Systems in Kolkata sees IST, Underwriting Dublin time.
    for row in rows:
        home = company.home_team.get(row.handle) if isinstance(row, Person) else None
        if isinstance(row, Person) and home is not None:
            row.timezone = company.team_specs[home].timezone
            row.locale = HOME_LOCALES.get(row.timezone, "en_GB")
    for row in rows:
        row.created_at = ORG_CREATED_AT
    session.flush()
    return company
