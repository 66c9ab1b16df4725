"""The fitted company and what-if results, worked out in the background once per version of the
history and kept: no database here, a small history written by hand."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from followthrough.errors import InvalidInput, ServiceBusy
from followthrough.practice.fitted import cache
from followthrough.practice.fitted.fit import fit
from followthrough.practice.fitted.history import History, PairHistory, TeamHistory
from followthrough.practice.fitted.whatif import Change, WhatIf, what_if

UNTIL = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def desk(received: int = 60) -> History:
    """Thirty days of one team receiving requests from another (of no team: raised by others)."""
    team = TeamHistory(
        team_id=7,
        name="Policy Admin",
        staff=3,
        opens=9.0,
        closes=17.0,
        working_days="12345",
        received=received,
        accepted=received,
        mean_accept_hours=3.0,
        resolved=received,
        mean_resolve_hours=20.0,
        sd_work_hours=15.0,
        mean_work_hours=17.0,
        offers=received,
        bounces=3,
        handed_on=0,
        resolve_target_hours=16.0,
    )
    return History(
        UNTIL - timedelta(days=30), UNTIL, (team,), (PairHistory(None, 7, received),), {}
    )


def wait_for(history: History, change: Change) -> WhatIf:
    deadline = time.monotonic() + 60
    while (result := cache.result_or_start(history, change, 2, 1)) is None:
        assert time.monotonic() < deadline, "the what-if never finished"
        time.sleep(0.05)
    return result


def test_the_window_is_whole_hours_so_the_version_moves_with_the_history_not_the_clock() -> None:
    since, until = cache.window(datetime(2026, 3, 2, 9, 41, 17, 5, tzinfo=UTC))
    assert until == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    assert since == until - timedelta(days=cache.HISTORY_DAYS)
    assert cache.window(datetime(2026, 3, 2, 9, 59, tzinfo=UTC)) == (since, until)


def test_a_change_is_answered_at_once_then_worked_out_once_and_kept() -> None:
    cache.forget()
    history = desk()
    change = Change(extra_people={7: 2})
    # The first ask starts the run and returns before it is done.
    assert cache.result_or_start(history, change, 2, 1) is None
    result = wait_for(history, change)
    # What the background worked out is what the what-if gives when run directly.
    assert result == what_if(fit(history, rounds=1), change, replications=2)
    # Kept: asked again, the very same result comes back without a run.
    assert cache.result_or_start(history, change, 2, 1) is result
    # Another version of the history (one request more) is another fit.
    assert cache.result_or_start(desk(received=61), change, 2, 1) is None


def test_a_change_that_cannot_be_tried_fails_once_and_is_tried_again_when_asked() -> None:
    cache.forget()
    history = desk()
    nobody = Change(extra_people={7: -3})
    with pytest.raises(InvalidInput, match="nobody left"):
        wait_for(history, nobody)
    # Not kept as a failure: asked again, it is started again.
    assert cache.result_or_start(history, nobody, 2, 1) is None
    with pytest.raises(InvalidInput, match="nobody left"):
        wait_for(history, nobody)


def test_beyond_the_changes_waiting_for_the_worker_a_new_one_is_refused_until_one_is_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cache.forget()
    history = desk()
    release = threading.Event()
    ran: list[Change] = []
    worked_out = cache.tried_change

    def held(history: History, change: Change, replications: int, rounds: int) -> WhatIf:
        release.wait(30)
        ran.append(change)
        return worked_out(history, change, replications, rounds)

    monkeypatch.setattr(cache, "_worker", ThreadPoolExecutor(max_workers=1))
    monkeypatch.setattr(cache, "_started", {})
    monkeypatch.setattr(cache, "tried_change", held)
    changes = [Change(extra_people={7: n}) for n in range(1, cache.WAITING + 2)]
    try:
        for change in changes[: cache.WAITING]:
            assert cache.result_or_start(history, change, 2, 1) is None
        # Asked again, a waiting change is still only waiting, not refused.
        assert cache.result_or_start(history, changes[0], 2, 1) is None
        with pytest.raises(ServiceBusy, match="try this one in a minute"):
            cache.result_or_start(history, changes[-1], 2, 1)
    finally:
        release.set()
    assert wait_for(history, changes[0]) is not None
    # Room again once the worker has caught up; the refused change was never started.
    assert wait_for(history, changes[-1]) is not None
    assert ran.count(changes[-1]) == 1
