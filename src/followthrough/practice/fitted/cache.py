"""The fitted company and what-if results, kept per version of the history in this process.

Fitting calibrates by simulation (seconds) and a what-if runs replications (seconds more), so
they are done once per version of the history and kept: the version is the history read itself
(its per-team and per-pair aggregates over a window that moves by the hour), so a new request,
acceptance or resolution makes a new version and the next look fits again. Callers read the
history in a short unit of work and call these after it has ended: no transaction is open
while the simulation runs.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from followthrough.errors import ServiceBusy
from followthrough.practice.fitted.fit import Fit, fit
from followthrough.practice.fitted.history import History
from followthrough.practice.fitted.whatif import Change, WhatIf, what_if

log = logging.getLogger(__name__)

# The window the page and the game fit on: this many days up to the start of the current hour.
HISTORY_DAYS = 120
# Calibration rounds of the pages' fit, as the what-if page has always used (the command line
# uses fit.CALIBRATION_ROUNDS, four: a third more simulation).
ROUNDS = 3
# Versions kept: the current one and a few before it (a lead comparing changes, other windows).
KEPT = 8
# Changes waiting for the one worker at most (seconds of simulation each): beyond this a new one
# is refused for now, so a burst of asks cannot keep every lead waiting for minutes.
WAITING = 4


def window(now: datetime, days: int = HISTORY_DAYS) -> tuple[datetime, datetime]:
    """The fit's period for `now`: whole hours, so the version changes with the history, not
    with every second of the clock."""
    until = now.replace(minute=0, second=0, microsecond=0)
    return until - timedelta(days=days), until


def history_version(history: History) -> Hashable:
    """What the fit depends on: the period and every aggregate read for it."""
    return (history.since, history.until, history.teams, history.pairs)


def change_key(change: Change) -> Hashable:
    return (
        tuple(sorted(change.extra_people.items())),
        tuple(sorted(change.accept_within_hours.items())),
        change.bounces_kept,
    )


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Kept(Generic[K, V]):
    """A small least-recently-used store; one computation per key at a time."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[K, threading.Lock] = {}

    def get(self, key: K, compute: Callable[[], V]) -> V:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            turn = self._computing.setdefault(key, threading.Lock())
        with turn:  # a second caller for the same key waits for the first one's result
            with self._lock:
                if key in self._values:
                    return self._values[key]
            try:
                value = compute()
            finally:
                with self._lock:
                    self._computing.pop(key, None)
            with self._lock:
                self._values[key] = value
                self._values.move_to_end(key)
                while len(self._values) > self._size:
                    self._values.popitem(last=False)
            return value

    def peek(self, key: K) -> V | None:
        with self._lock:
            return self._values.get(key)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


# One simulation at a time per process, off every request's thread: a page asks for a change
# and is answered at once ("working it out"), then looks again until the result is kept.
_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="what-if")
_fits: _Kept[Hashable, Fit] = _Kept(KEPT)
_what_ifs: _Kept[Hashable, WhatIf] = _Kept(KEPT * 16)


def fitted_company(history: History, rounds: int = ROUNDS) -> Fit:
    """The company fitted to this history, fitted once per version (a second caller while it is
    being fitted waits for that fit)."""
    return _fits.get((history_version(history), rounds), lambda: fit(history, rounds=rounds))


def start_fitting(history: History, rounds: int = ROUNDS) -> None:
    """Fit this version in the background if it is not kept yet, so that a later
    `fitted_company` (a facilitator creating a game on it) finds it ready or nearly."""
    if _fits.peek((history_version(history), rounds)) is None:
        _worker.submit(fitted_company, history, rounds).add_done_callback(_log_failure)


def _log_failure(done: Future[Fit]) -> None:
    # Nobody waits on a background fit; the next `fitted_company` fits again and raises there.
    error = done.exception()
    if error is not None:
        log.error("fitting the company in the background failed", exc_info=error)


def tried_change(history: History, change: Change, replications: int, rounds: int) -> WhatIf:
    """The what-if of `change` on this history's fitted company, run once per version."""
    key = (history_version(history), rounds, change_key(change), replications)
    return _what_ifs.get(
        key,
        lambda: what_if(fitted_company(history, rounds), change, replications=replications),
    )


def kept_result(history: History, change: Change, replications: int, rounds: int) -> WhatIf | None:
    """The result already worked out for this version and change, if any (nothing is run)."""
    return _what_ifs.peek((history_version(history), rounds, change_key(change), replications))


_started: dict[Hashable, Future[WhatIf]] = {}
_started_lock = threading.Lock()


def result_or_start(
    history: History, change: Change, replications: int, rounds: int
) -> WhatIf | None:
    """The kept result of `change` on this version, or None after starting to work it out in
    the background (once per version and change, however many pages ask meanwhile). A failed
    run raises here, once, and the next ask starts again. With `WAITING` other changes still
    being worked out, a new one is refused (ServiceBusy) and nothing is started."""
    kept = kept_result(history, change, replications, rounds)
    if kept is not None:
        return kept
    key = (history_version(history), rounds, change_key(change), replications)
    with _started_lock:
        running = _started.get(key)
        if running is None:
            if sum(1 for f in _started.values() if not f.done()) >= WAITING:
                raise ServiceBusy(
                    f"{WAITING} changes are being worked out already; try this one in a minute",
                    retry_after=30,
                )
            running = _worker.submit(tried_change, history, change, replications, rounds)
            _started[key] = running
        if not running.done():
            return None
        del _started[key]
    return running.result()


def forget() -> None:
    """Drop everything kept (tests, and a process that wants its memory back)."""
    _fits.clear()
    _what_ifs.clear()
