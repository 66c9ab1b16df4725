"""`make soak`: the desk under bursts, crashes and shutdowns, against a real server.

For each database (SQLite with one worker, PostgreSQL with two) it builds a small demo company,
starts `followthrough serve` in its own process group and runs three trials:

1. **Burst**: rounds of 16 concurrent writers, 8 readers and 12 failed sign-ins, with
   `/api/v1/health` probed every 100 ms throughout. Fails on any 500, on a health answer slower
   than 1 s, or on a write not answered within 60 s; reports write latency p50/p99/max.
2. **SIGTERM**: a burst is started, the server is sent SIGTERM mid-way, and the time until every
   process of it has exited is measured (target: within 5 s).
3. **kill -9**: a write load runs, the whole server is killed with SIGKILL at a random moment,
   restarted, and every write it acknowledged (201 with an id) must be there. Repeated
   `--crashes` times.

Then `bench.soak_schema` runs schemathesis over every operation as an employee and an admin
(skip with `--no-schema`). Exit status 1 on any failure. Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import create_engine, text

from followthrough.db import normalise_url

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PG_SOAK_DB = "ft_soak"
DEMO_END = "2026-11-20T16:00:00+00:00"
WRITERS, READERS, SIGN_INS = 16, 8, 12
HEALTH_LIMIT_S, WRITE_LIMIT_S, STOP_LIMIT_S = 1.0, 60.0, 5.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "all"), default="all")
    parser.add_argument("--rounds", type=int, default=5, help="Burst rounds per database.")
    parser.add_argument("--crashes", type=int, default=10, help="kill -9 trials per database.")
    parser.add_argument("--requests", type=int, default=2000, help="Demo size (requests).")
    parser.add_argument("--no-schema", action="store_true", help="Skip the schemathesis run.")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


# ---- plumbing --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, timeout: float = 900) -> str:
    done = subprocess.run(
        [str(BIN / "followthrough"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"followthrough {' '.join(args[:2])} failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


@contextmanager
def demo_database(backend: str, folder: Path, size: int) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'soak.sqlite3'}"
    else:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_SOAK_DB}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{PG_SOAK_DB}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_SOAK_DB}"
    _cli("demo", "--database-url", url, "--requests", str(size))
    try:
        yield url
    finally:
        if backend == "postgresql":
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{PG_SOAK_DB}" WITH (FORCE)')


class Server:
    """`followthrough serve` in a process group of its own, so a crash takes every worker."""

    def __init__(self, url: str, workers: int, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("a")
        env = {**os.environ, "FOLLOWTHROUGH_SWEEP_INTERVAL_SECONDS": "5"}
        self.process = subprocess.Popen(
            [
                str(BIN / "followthrough"),
                "serve",
                "--database-url",
                url,
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--clock-start",
                DEMO_END,
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped at start-up; see {log}")
            try:
                if httpx.get(self.base + "/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"the server did not answer within 90 s; see {log}")
            time.sleep(0.2)

    def _group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        # A zombie leader still "exists" until reaped.
        return self.process.poll() is None or _group_has_live_members(self.process.pid)

    def terminate(self) -> float:
        """SIGTERM to the server (as a process manager sends it); seconds until all are gone."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        while self._group_alive() and time.monotonic() - started < 30:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        self.kill()
        return elapsed

    def kill(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.log.close()


def _group_has_live_members(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- the world the load acts in ------------------------------------------------------------


@dataclass
class World:
    tokens: list[str]
    service_ids: list[int]
    handles: list[str]


def world_of(url: str) -> World:
    engine = create_engine(normalise_url(url))
    with engine.connect() as conn:
        handles = [
            row[0]
            for row in conn.execute(
                text("SELECT handle FROM person WHERE active ORDER BY id LIMIT 16")
            )
        ]
        services = [
            row[0]
            for row in conn.execute(
                text("SELECT id FROM service WHERE active AND NOT confidential ORDER BY id")
            )
        ]
    engine.dispose()
    tokens = [_cli("user", "token", h, "--name", "soak", "--database-url", url) for h in handles]
    return World(tokens=tokens, service_ids=services, handles=handles)


@dataclass
class Ledger:
    """Every write the server acknowledged, to be found again after a crash."""

    cases: dict[int, str] = field(default_factory=dict)
    requests: dict[int, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def missing(self, url: str) -> list[str]:
        engine = create_engine(normalise_url(url))
        with engine.connect() as conn:
            cases = dict(conn.execute(text("SELECT id, reference FROM customer_case")).all())
            requests = dict(conn.execute(text("SELECT id, title FROM request")).all())
        engine.dispose()
        lost = [f"case {i} {r}" for i, r in self.cases.items() if cases.get(i) != r]
        lost += [f"request {i} {t}" for i, t in self.requests.items() if requests.get(i) != t]
        return lost


def write_once(client: httpx.Client, world: World, rng: random.Random, ledger: Ledger) -> int:
    """One acknowledged-or-not write: a new customer case or a new request."""
    token = rng.choice(world.tokens)
    headers = {"Authorization": f"Bearer {token}"}
    tag = f"soak-{rng.getrandbits(48):012x}"
    if rng.random() < 0.5:
        response = client.post(
            "/api/v1/cases", json={"reference": tag, "customer": "Soak"}, headers=headers
        )
        if response.status_code == 201:
            with ledger.lock:
                ledger.cases[response.json()["id"]] = tag
        return response.status_code
    body = {
        "title": tag,
        "need": "Checked after the soak",
        "service_id": rng.choice(world.service_ids),
        "impact_customers": 1,
    }
    response = client.post(
        "/api/v1/requests",
        json=body,
        headers={**headers, "Idempotency-Key": tag, "Prefer": "return=minimal"},
    )
    if response.status_code == 201:
        with ledger.lock:
            ledger.requests[response.json()["id"]] = tag
    return response.status_code


# ---- trials ----------------------------------------------------------------------------------


@dataclass
class Burst:
    statuses: dict[int, int] = field(default_factory=dict)
    write_times: list[float] = field(default_factory=list)
    health_times: list[float] = field(default_factory=list)
    health_failures: int = 0

    def count(self, status: int) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


def burst(server: Server, world: World, rounds: int, seed: int, ledger: Ledger) -> Burst:
    result = Burst()
    stop = threading.Event()
    lock = threading.Lock()

    def probe() -> None:
        with httpx.Client(base_url=server.base, timeout=10) as client:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    ok = client.get("/api/v1/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                with lock:
                    result.health_times.append(time.monotonic() - started)
                    result.health_failures += not ok
                time.sleep(0.1)

    def writer(n: int) -> None:
        rng = random.Random(f"{seed}-{n}-{time.monotonic_ns()}")  # a new tag every round
        with httpx.Client(base_url=server.base, timeout=WRITE_LIMIT_S) as client:
            for _ in range(3):
                started = time.monotonic()
                try:
                    status = write_once(client, world, rng, ledger)
                except httpx.HTTPError:
                    status = 0  # no answer within the limit
                with lock:
                    result.write_times.append(time.monotonic() - started)
                    result.count(status)

    def reader(n: int) -> None:
        headers = {"Authorization": f"Bearer {world.tokens[n % len(world.tokens)]}"}
        with httpx.Client(base_url=server.base, timeout=WRITE_LIMIT_S, headers=headers) as c:
            for path in ("/api/v1/requests?limit=50", "/api/v1/inbox", "/api/v1/services"):
                try:
                    status = c.get(path).status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    result.count(status)

    def failed_sign_in(n: int) -> None:
        handle = world.handles[n % 3]  # several attempts on the same accounts
        with httpx.Client(base_url=server.base, timeout=WRITE_LIMIT_S) as client:
            try:
                status = client.post(
                    "/api/v1/session", json={"handle": handle, "password": f"wrong-{n}-xxxx"}
                ).status_code
            except httpx.HTTPError:
                status = 0
            with lock:
                result.count(status)

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        for _ in range(rounds):
            jobs: list[Callable[[], None]] = (
                [lambda n=n: writer(n) for n in range(WRITERS)]
                + [lambda n=n: reader(n) for n in range(READERS)]
                + [lambda n=n: failed_sign_in(n) for n in range(SIGN_INS)]
            )
            with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
                list(pool.map(lambda job: job(), jobs))
    finally:
        stop.set()
        prober.join()
    return result


def sigterm_during_burst(server: Server, world: World, seed: int, ledger: Ledger) -> float:
    """Seconds from SIGTERM, sent while writes are in flight, to every server process gone."""
    rng = random.Random(seed)
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=server.base, timeout=10) as client:
            while not stop.is_set():
                try:
                    write_once(client, world, rng, ledger)
                except httpx.HTTPError:
                    return

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    elapsed = server.terminate()
    stop.set()
    for thread in threads:
        thread.join()
    return elapsed


def crash_trials(
    url: str, workers: int, world: World, crashes: int, seed: int, log: Path
) -> tuple[int, list[str]]:
    """kill -9 under write load, `crashes` times; acknowledged writes and any that went missing."""
    rng = random.Random(seed)
    ledger = Ledger()
    for trial in range(crashes):
        server = Server(url, workers, log)
        stop = threading.Event()

        def load(
            n: int, server: Server = server, stop: threading.Event = stop, trial: int = trial
        ) -> None:
            local = random.Random(seed * 7919 + trial * 101 + n)
            with httpx.Client(base_url=server.base, timeout=10) as client:
                while not stop.is_set():
                    try:
                        write_once(client, world, local, ledger)
                    except httpx.HTTPError:
                        return  # the server is gone; unacknowledged writes may or may not exist

        threads = [threading.Thread(target=load, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(1.0, 3.0))
        server.kill()
        stop.set()
        for thread in threads:
            thread.join()
    # Restart once more: recovery must not lose what was acknowledged before any crash.
    server = Server(url, workers, log)
    server.terminate()
    acknowledged = len(ledger.cases) + len(ledger.requests)
    return acknowledged, ledger.missing(url)


# ---- the run ---------------------------------------------------------------------------------


def soak(backend: str, options: argparse.Namespace, folder: Path) -> list[str]:
    """Runs the three trials on one database; returns the failures found."""
    workers = 1 if backend == "sqlite" else 2
    log = folder / f"server-{backend}.log"
    failures: list[str] = []
    print(f"\n== {backend}, {workers} worker(s): building a demo of {options.requests} requests")
    with demo_database(backend, folder, options.requests) as url:
        world = world_of(url)
        ledger = Ledger()
        server = Server(url, workers, log)
        try:
            result = burst(server, world, options.rounds, options.seed, ledger)
        finally:
            stop_s = server.terminate()
        server = Server(url, workers, log)
        sigterm_s = sigterm_during_burst(server, world, options.seed, ledger)
        lost_after_bursts = ledger.missing(url)
        acknowledged, lost = crash_trials(url, workers, world, options.crashes, options.seed, log)
    writes = result.write_times
    server_errors = sum(
        n for status, n in result.statuses.items() if status >= 500 and status != 503
    )
    unanswered = result.statuses.get(0, 0)
    print(f"   answers by status: {dict(sorted(result.statuses.items()))}")
    print(
        f"   writes: {len(writes)}, p50 {statistics.median(writes) * 1000:.0f} ms, "
        f"p99 {_pct(writes, 0.99) * 1000:.0f} ms, max {max(writes) * 1000:.0f} ms"
    )
    print(
        f"   health: {len(result.health_times)} probes, max {max(result.health_times) * 1000:.0f}"
        f" ms, p99 {_pct(result.health_times, 0.99) * 1000:.0f} ms, failures {result.health_failures}"
    )
    print(f"   stopped {stop_s:.1f} s after SIGTERM when idle, {sigterm_s:.1f} s under load")
    print(f"   kill -9 x{options.crashes}: {acknowledged} acknowledged writes, {len(lost)} lost")
    if server_errors:
        failures.append(f"{backend}: {server_errors} server errors (5xx other than 503)")
    if unanswered:
        failures.append(f"{backend}: {unanswered} calls not answered within {WRITE_LIMIT_S:.0f} s")
    if result.health_failures or max(result.health_times) >= HEALTH_LIMIT_S:
        failures.append(
            f"{backend}: health slower than {HEALTH_LIMIT_S} s or failing during the burst"
        )
    if max(stop_s, sigterm_s) > STOP_LIMIT_S:
        failures.append(f"{backend}: stopping took {max(stop_s, sigterm_s):.1f} s after SIGTERM")
    if lost or lost_after_bursts:
        failures.append(f"{backend}: acknowledged writes lost: {(lost_after_bursts + lost)[:5]}")
    return failures


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    backends = ("sqlite", "postgresql") if options.backend == "all" else (options.backend,)
    folder = Path(tempfile.mkdtemp(prefix="ft-soak-"))
    failures: list[str] = []
    try:
        for backend in backends:
            failures += soak(backend, options, folder)
        if not options.no_schema:
            from bench import soak_schema

            for backend in backends:
                workers = "1" if backend == "sqlite" else "2"
                if soak_schema.main(["--backend", backend, "--workers", workers]) != 0:
                    failures.append(f"{backend}: schemathesis found failures (above)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print()
    if failures:
        print("SOAK FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("soak passed: no 500, health under 1 s, stops within 5 s, no acknowledged write lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
