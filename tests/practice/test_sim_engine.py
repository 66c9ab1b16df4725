from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from followthrough.practice.sim.engine import RunResult, simulate, turnover_per_year
from followthrough.practice.sim.replications import run_replications
from followthrough.practice.sim.scenario import Scenario, load_scenario

pytestmark = pytest.mark.slow  # long runs: started first (tests/conftest.py)

DAYS = 60


@pytest.fixture(scope="module")
def insurance() -> Scenario:
    return load_scenario("insurance")


def mean_of(scenario: Scenario, figure: str, replications: int = 6, days: float = DAYS) -> float:
    summary = run_replications(scenario, replications, seed=11, days=days)
    return summary.estimates[figure].mean


def test_same_seed_gives_identical_results(insurance: Scenario) -> None:
    first = simulate(insurance, np.random.default_rng(5), days=DAYS)
    second = simulate(insurance, np.random.default_rng(5), days=DAYS)
    assert first == second


def test_different_seeds_give_different_results(insurance: Scenario) -> None:
    first = simulate(insurance, np.random.default_rng(5), days=DAYS)
    second = simulate(insurance, np.random.default_rng(6), days=DAYS)
    assert first.mean_case_days != second.mean_case_days


def test_results_are_frozen(insurance: Scenario) -> None:
    result = simulate(insurance, np.random.default_rng(5), days=5)
    with pytest.raises(AttributeError):
        result.profit = 0.0  # type: ignore[misc]


def test_profit_is_revenue_less_staff_and_hiring_cost(insurance: Scenario) -> None:
    result = simulate(insurance, np.random.default_rng(5), days=DAYS)
    assert result.cost == pytest.approx(result.staff_cost + result.hiring_cost)
    assert result.profit == pytest.approx(result.revenue - result.cost)


def test_every_closed_case_is_counted_in_its_journey(insurance: Scenario) -> None:
    result = simulate(insurance, np.random.default_rng(5), days=DAYS)
    external = {j.id for j in insurance.journeys if j.external}
    assert result.cases_closed == sum(
        j.cases_closed for j in result.journeys if j.journey in external
    )


def test_higher_ownership_gets_handoffs_accepted_sooner(insurance: Scenario) -> None:
    owning = insurance
    for department in insurance.departments:
        owning = owning.with_department(department.id, ownership=1.0)
    assert mean_of(owning, "mean_accept_hours") < 0.5 * mean_of(insurance, "mean_accept_hours")


def test_better_communication_bounces_fewer_handoffs(insurance: Scenario) -> None:
    talking = insurance
    for department in insurance.departments:
        talking = talking.with_department(department.id, communication=1.0)
    assert mean_of(talking, "bounce_rate") < 0.5 * mean_of(insurance, "bounce_rate")


def test_policy_admin_errors_cause_rework_and_reach_customers(insurance: Scenario) -> None:
    careful = insurance.with_department("policy_admin", ownership=1.0, communication=1.0)
    assert mean_of(careful, "reworks") < mean_of(insurance, "reworks")
    sloppy_reached = mean_of(insurance, "departments.policy_admin.errors_reaching_customers")
    assert mean_of(careful, "departments.policy_admin.errors_reaching_customers") < sloppy_reached


def test_missed_updates_turn_into_complaints_and_lower_satisfaction(insurance: Scenario) -> None:
    silent = insurance
    for department in insurance.departments:
        silent = silent.with_department(department.id, ownership=0.0, communication=0.0)
    assert mean_of(silent, "complaints") > mean_of(insurance, "complaints")
    assert mean_of(silent, "mean_satisfaction") < mean_of(insurance, "mean_satisfaction")


def test_more_engaged_staff_leave_less(insurance: Scenario) -> None:
    assert turnover_per_year(insurance, 0.8) < turnover_per_year(insurance, 0.6)
    engaged = insurance
    for department in insurance.departments:
        engaged = engaged.with_department(department.id, engagement=1.0)
    assert mean_of(engaged, "leavers", days=365) < mean_of(insurance, "leavers", days=365)


def test_ten_points_of_engagement_cut_turnover_by_the_published_share(
    insurance: Scenario,
) -> None:
    reference = insurance.behaviour.reference_engagement
    change = insurance.behaviour.turnover_change_per_10_points
    ratio = turnover_per_year(insurance, reference + 0.1) / turnover_per_year(insurance, reference)
    assert ratio == pytest.approx(1 + change)


def test_understaffing_lengthens_claims(insurance: Scenario) -> None:
    short = insurance.with_department("claims", staff=6)
    assert mean_of(short, "journeys.motor_claim.mean_days") > mean_of(
        insurance, "journeys.motor_claim.mean_days"
    )


def test_replications_in_processes_match_replications_in_process(insurance: Scenario) -> None:
    here = run_replications(insurance, 3, seed=2, days=20)
    with ProcessPoolExecutor(max_workers=2) as executor:
        there = run_replications(insurance, 3, seed=2, days=20, executor=executor)
    assert here.runs == there.runs


def test_every_figure_gets_a_confidence_interval(insurance: Scenario) -> None:
    done: list[int] = []
    summary = run_replications(insurance, 4, seed=2, days=20, on_done=done.append)
    assert done == [1, 2, 3, 4]
    assert set(summary.estimates) == set(summary.runs[0].figures())
    assert all(e.replications == 4 for e in summary.estimates.values())
    assert summary.estimates["mean_case_days"].half_width > 0


def test_run_result_figures_name_departments_and_journeys(insurance: Scenario) -> None:
    result: RunResult = simulate(insurance, np.random.default_rng(1), days=5)
    figures = result.figures()
    assert "departments.policy_admin.utilisation" in figures
    assert "journeys.motor_claim.mean_days" in figures


def _desk(**department: object) -> Scenario:
    """One team asked by another: work of exactly 4 working hours, accepted at once."""
    return Scenario.model_validate(
        {
            "name": "desk",
            "days": 70,
            "behaviour": {
                "accept_hours": {"at_0": 0.001, "at_1": 0.001},
                "bounce": {"at_0": 0.0, "at_1": 0.0},
                "turnover_per_year": 0.0,
            },
            "customers": {"base": 1, "revenue_per_year": 0.0},
            "departments": [
                {"id": "asking", "name": "Asking", "staff": 1},
                {"id": "desk", "name": "Desk", "staff": 50, **department},
            ],
            "services": [
                {"id": "work", "name": "Work", "department": "desk", "hours": 4.0, "cv": 0.0}
            ],
            "journeys": [
                {
                    "id": "asks",
                    "name": "Asks",
                    "per_day": 6.0,
                    "owner": "asking",
                    "external": False,
                    "working_hours_only": True,
                    "steps": [{"service": "work"}],
                }
            ],
        }
    )


def _days_to_resolve(scenario: Scenario) -> float:
    return simulate(scenario, np.random.default_rng(3)).journeys[0].mean_days


def test_a_department_working_saturdays_finishes_fridays_work_on_saturday() -> None:
    weekdays = _days_to_resolve(_desk())
    saturdays = _days_to_resolve(_desk(workdays=[0, 1, 2, 3, 4, 5]))
    # Work started on a Friday afternoon waits over the weekend only for the weekday desk.
    assert saturdays < weekdays
    # Its opening hours count Saturdays: the same work is a smaller share of them.
    run = simulate(_desk(workdays=[0, 1, 2, 3, 4, 5]), np.random.default_rng(3))
    weekday_run = simulate(_desk(), np.random.default_rng(3))
    assert run.departments[1].utilisation == pytest.approx(
        weekday_run.departments[1].utilisation * 5 / 6, rel=0.02
    )


def test_a_department_hours_ahead_works_its_own_hours_on_the_scenarios_clock() -> None:
    # Asked 09:00-17:00; a desk five hours ahead works 04:00-12:00 on that clock, so 4 hours
    # of work asked at 09:00 are done at 12:00 at the earliest, and work asked after 12:00
    # waits for the next morning.
    level = _days_to_resolve(_desk()) * 24.0
    ahead = _days_to_resolve(_desk(hours_ahead=5.0)) * 24.0
    behind = _days_to_resolve(_desk(hours_ahead=-5.0)) * 24.0
    assert ahead > level + 8.0
    # Five hours behind it works 14:00-22:00: all the day's requests are done that evening,
    # while a desk on the asking team's hours carries its afternoon's work to the next day.
    assert behind < level


def test_a_work_shape_draws_its_values_scaled_to_the_mean() -> None:
    # Half the work takes no time, half twice the mean: every case is either quick or 8 hours.
    shaped = _desk()
    shaped = shaped.model_copy(
        update={"services": (shaped.services[0].model_copy(update={"shape": (0.0, 3.0)}),)}
    )
    run = simulate(shaped, np.random.default_rng(3))
    plain = simulate(_desk(), np.random.default_rng(3))
    assert run.departments[1].utilisation == pytest.approx(
        plain.departments[1].utilisation, rel=0.1
    )
    assert run.journeys[0].mean_days != plain.journeys[0].mean_days


def test_a_run_starting_on_saturday_waits_for_monday_to_ask_or_work() -> None:
    # Two days from Saturday 00:00: nobody asks and nobody works; from Monday they do.
    weekend = _desk().model_copy(update={"days": 2, "starts_at": 5 * 24.0})
    monday = _desk().model_copy(update={"days": 2, "starts_at": 0.0})
    assert simulate(weekend, np.random.default_rng(3)).departments[1].requests_done == 0
    assert simulate(monday, np.random.default_rng(3)).departments[1].requests_done > 0


def test_a_holiday_of_the_working_team_holds_the_work_until_the_day_after() -> None:
    # The desk is off on Tuesday (day 1) of the first week: Monday's late work and Tuesday's
    # requests wait for Wednesday, so they take longer to resolve.
    level = _days_to_resolve(_desk().model_copy(update={"days": 7}))
    holiday = _days_to_resolve(_desk(holidays=[1]).model_copy(update={"days": 7}))
    # A fifth of the requests wait about a day more.
    assert holiday > level + 0.1
    # Nothing is done on its holiday: a run of Tuesday alone finishes nothing.
    tuesday = _desk(holidays=[1]).model_copy(update={"days": 1, "starts_at": 24.0})
    assert simulate(tuesday, np.random.default_rng(3)).departments[1].requests_done == 0


# Requests asked evenly in the hours 09:00-17:00 of the weekdays.
OFFICE_HOURS = tuple(1.0 if h // 24 < 5 and 9 <= h % 24 < 17 else 0.0 for h in range(168))


@pytest.mark.parametrize("profile", [(), OFFICE_HOURS], ids=["working hours", "profile"])
def test_nobody_raises_requests_on_the_raising_teams_holiday(profile: tuple[float, ...]) -> None:
    def asked(scenario: Scenario) -> int:
        return simulate(scenario, np.random.default_rng(3)).departments[1].requests_done

    plain = _desk().model_copy(update={"days": 7, "arrival_profile": profile})
    off = plain.model_copy(
        update={
            "departments": (
                plain.departments[0].model_copy(update={"holidays": (1,)}),
                plain.departments[1],
            )
        }
    )
    # About a fifth of the week's requests (Tuesday's) are not raised.
    assert asked(off) == pytest.approx(asked(plain) * 4 / 5, rel=0.15)
    assert asked(off) < asked(plain)


def test_a_departments_acceptance_is_counted_from_its_hour_on() -> None:
    # The desk takes about two working hours to accept and is off on Tuesday and Wednesday of
    # the second week: what it is offered in that week waits longer.
    def run(counted_from: float) -> RunResult:
        data = _desk(holidays=[8, 9], accept_counted_from=counted_from).model_dump()
        data["days"] = 14
        data["behaviour"]["accept_hours"] = {"at_0": 2.0, "at_1": 2.0}
        return simulate(Scenario.model_validate(data), np.random.default_rng(3))

    whole, second_week, after_the_end = run(0.0), run(7 * 24.0), run(15 * 24.0)
    assert second_week.departments[1].mean_accept_hours > whole.departments[1].mean_accept_hours
    assert after_the_end.departments[1].mean_accept_hours == 0.0
    # Only the measure changes: the same run, the same acceptances.
    assert second_week.mean_accept_hours == whole.mean_accept_hours
    assert second_week.departments[1].requests_done == whole.departments[1].requests_done
