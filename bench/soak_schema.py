"""schemathesis over every API operation, as an employee and as an admin, against a real server.

`python -m bench.soak_schema` builds a small demo database (`followthrough demo`), mints one API
token for each role (`followthrough user token`), starts `followthrough serve` on a free
loopback port and runs schemathesis over every operation of its /openapi.json with the checks
the issue asks for: no server error, every answer's status documented, its content type and its
body as documented. Each run is bounded in examples per operation and in time; the server is
stopped afterwards whatever happens. The summary names every failing operation with the request
that failed; the exit status is 1 on any failure.

Revoking a token (DELETE /me/tokens/{token_id}) may revoke the run's own token, after which
every call would answer 401; that one operation runs last, on its own.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PG_SOAK_DB = "ft_soak_schema"
# The demo history ends here; the server's clock runs on from it, as in `make demo`.
DEMO_END = "2026-11-20T16:00:00+00:00"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
ROLES = {"employee": "asha", "admin": "ada"}
LAST = ("DELETE", "/api/v1/me/tokens/{token_id}")


@dataclass
class Outcome:
    """What one schemathesis run found."""

    role: str
    operations: int = 0
    examples: int = 0
    failures: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    exit_code: int = 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak_schema", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="Server worker processes.")
    parser.add_argument("--requests", type=int, default=300, help="Demo requests to generate.")
    parser.add_argument(
        "--max-examples", type=int, default=25, help="Generated cases per operation and phase."
    )
    parser.add_argument(
        "--max-time", type=float, default=240.0, help="Seconds for each role's run at most."
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--report-dir", type=Path, help="Keep schemathesis' reports here.")
    parser.add_argument(
        "--role", choices=(*ROLES, "all"), default="all", help="Which caller(s) to run as."
    )
    return parser.parse_args(argv)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, timeout: float = 600) -> str:
    done = subprocess.run(
        [str(BIN / "followthrough"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"followthrough {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@contextmanager
def database(options: argparse.Namespace, folder: Path) -> Iterator[str]:
    """A fresh demo database's URL; a PostgreSQL one is dropped afterwards."""
    if options.backend == "sqlite":
        yield f"sqlite:///{folder / 'soak.sqlite3'}"
        return
    with psycopg.connect(options.pg_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_SOAK_DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{PG_SOAK_DB}"')
    try:
        yield options.pg_admin_url.rsplit("/", 1)[0] + f"/{PG_SOAK_DB}"
    finally:
        with psycopg.connect(options.pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_SOAK_DB}" WITH (FORCE)')


@contextmanager
def serving(url: str, workers: int, log: Path) -> Iterator[str]:
    """`followthrough serve` on a free loopback port until the block ends; its base URL."""
    port = _free_port()
    with log.open("w") as out:
        server = subprocess.Popen(
            [
                str(BIN / "followthrough"),
                "serve",
                "--database-url",
                url,
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--clock-start",
                DEMO_END,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"the server stopped at start-up; see {log}")
                try:
                    if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not answer within 60 s; see {log}")
                time.sleep(0.2)
            yield base
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def run_schemathesis(
    base: str,
    token: str,
    options: argparse.Namespace,
    reports: Path,
    name: str,
    *,
    select: list[str],
    max_time: float,
) -> tuple[int, dict[str, Any] | None, str]:
    """One schemathesis run; its exit code, its JSON report and its console output."""
    report = reports / f"{name}.json"
    command = [
        str(BIN / "schemathesis"),
        "run",
        f"{base}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(options.max_examples),
        "--max-time",
        str(max(1, int(max_time))),
        "--seed",
        str(options.seed),
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--continue-on-failure",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--output-truncate",
        "false",
        *select,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=max_time + 120, check=False
    )
    output = done.stdout + done.stderr
    (reports / f"{name}.txt").write_text(output)
    loaded = json.loads(report.read_text()) if report.exists() else None
    return done.returncode, loaded, output


def summarise(role: str, runs: list[tuple[int, dict[str, Any] | None, str]]) -> Outcome:
    outcome = Outcome(role)
    for code, report, output in runs:
        outcome.exit_code = max(outcome.exit_code, code)
        if report is None or not report.get("complete"):
            outcome.errors.append(f"schemathesis did not finish (exit {code}):\n{output[-2000:]}")
        if report is not None:
            read_report(report, output, outcome)
    return outcome


def read_report(report: dict[str, Any], output: str, outcome: Outcome) -> None:
    """Operations, examples and failures from schemathesis' JSON run report; each failing
    request (its status and curl line) from the console output, which alone holds them."""
    operations = report.get("operations") or {}
    outcome.operations += int(operations.get("tested", 0))
    outcome.examples += int(report.get("test_cases", {}).get("generated", 0))
    for group in report.get("failures", []):
        outcome.failures.append(
            f"{group['code']} {group['title']} x{group['count']}: {', '.join(group['operations'])}"
        )
    for error in report.get("errors", []):
        outcome.errors.append(f"{error['title']} x{error['count']}")
    outcome.requests.extend(failing_requests(output))


FAILURE_HEADER = re.compile(r"^_{3,} (.+?) _{3,}$")
STATUS_LINE = re.compile(r"^\[\d{3}\] ")


def failing_requests(output: str) -> list[str]:
    """'OPERATION: CHECK, received STATUS: curl ...' for each failure schemathesis printed."""
    found: list[str] = []
    operation = received = ""
    checks: list[str] = []
    in_failures = False
    for raw in output.splitlines():
        line = raw.strip()
        if line.startswith("=") and "FAILURES" in line:
            in_failures = True
            continue
        if in_failures and line.startswith("=") and line.endswith("="):
            break
        if not in_failures:
            continue
        header = FAILURE_HEADER.match(line)
        if header:
            operation = header.group(1)
        elif line.startswith("- "):
            checks.append(line[2:])
        elif line.startswith("Received:"):
            received = line.removeprefix("Received:").strip()
        elif STATUS_LINE.match(line) and not received:
            received = line[1:4]
        elif line.startswith("curl "):
            found.append(f"{operation}: {'; '.join(checks)}, received {received or '?'}: {line}")
            checks = []
            received = ""
    return found


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="ft-soak-schema-"))
    reports = options.report_dir or folder / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    roles = ROLES if options.role == "all" else {options.role: ROLES[options.role]}
    outcomes: list[Outcome] = []
    started = time.monotonic()
    try:
        with database(options, folder) as url:
            print(f"building the demo ({options.requests} requests) on {options.backend} ...")
            _cli("demo", "--database-url", url, "--requests", str(options.requests))
            tokens = {
                role: _cli("user", "token", handle, "--name", f"soak {role}", "--database-url", url)
                .strip()
                .splitlines()[-1]
                .strip()
                for role, handle in roles.items()
            }
            with serving(url, options.workers, folder / "server.log") as base:
                method, path = LAST
                for role, token in tokens.items():
                    print(f"schemathesis as the {role} ({ROLES[role]}) against {base} ...")
                    everything_else = run_schemathesis(
                        base,
                        token,
                        options,
                        reports,
                        f"{role}",
                        # The only operation at its path, so the path alone leaves it out.
                        select=["--include-path-regex", "^/api/", "--exclude-path", path],
                        max_time=options.max_time * 0.9,
                    )
                    revoke = run_schemathesis(
                        base,
                        token,
                        options,
                        reports,
                        f"{role}-revoke",
                        select=["--include-method", method, "--include-path", path],
                        max_time=options.max_time * 0.1,
                    )
                    outcomes.append(summarise(role, [everything_else, revoke]))
    finally:
        if options.report_dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    return report_and_exit_code(outcomes, time.monotonic() - started, options)


def report_and_exit_code(
    outcomes: list[Outcome], seconds: float, options: argparse.Namespace
) -> int:
    failed = False
    print()
    print(f"schemathesis on {options.backend} ({options.workers} worker(s)), {seconds:.0f} s")
    for outcome in outcomes:
        print(
            f"  {outcome.role:9} {outcome.operations:3} operations  "
            f"{outcome.examples:6} examples  {len(outcome.failures):3} failures  "
            f"{len(outcome.errors):3} errors"
        )
        for line in outcome.failures + outcome.errors:
            print(f"    - {line}")
        for line in outcome.requests:
            print(f"      {line}")
        failed = failed or bool(outcome.failures or outcome.errors) or outcome.exit_code != 0
    print("FAILED" if failed else "passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
