"""`python -m bench`: the desk, web-page, Insight and simulation benchmarks, in one run."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path

from rich.console import Console

from bench import desk


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Small sizes, for a smoke test.")
    parser.add_argument(
        "--only",
        choices=(
            "desk",
            "web",
            "insight",
            "sim",
            "import",
            "search",
            "roleplay",
            "live-roleplay",
            "mail-out",
            "mail-in",
            "buddies",
            "fitted",
            "backtest",
        ),
        help="Run one benchmark only.",
    )
    parser.add_argument("--requests", type=int, help="Requests to bulk-load (default 1,000,000).")
    parser.add_argument("--events", type=int, help="Events to bulk-load (default 10,000,000).")
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgresql", "all"),
        default="all",
        help="Which database(s) the desk benchmark runs on.",
    )
    parser.add_argument("--clients", type=int, help="Concurrent clients in the mixed workload.")
    parser.add_argument("--seconds", type=float, help="Duration of each mixed workload.")
    parser.add_argument(
        "--pg-admin-url",
        default=desk.PG_ADMIN_URL,
        help=f"PostgreSQL server to create the {desk.PG_BENCH_DB} database on.",
    )
    parser.add_argument("--pg-workers", type=int, help="uvicorn workers on PostgreSQL.")
    parser.add_argument(
        "--threads", type=int, help="Requests each server worker works on at once (default 3)."
    )
    parser.add_argument("--keep", action="store_true", help="Keep the bench databases.")
    parser.add_argument("--markdown", type=Path, help="Also write the figures as Markdown here.")
    args = parser.parse_args(argv)
    for name in ("requests", "events", "clients", "pg_workers", "threads"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.seconds is not None and args.seconds <= 0:
        parser.error("--seconds must be positive")
    return args


def desk_options(args: argparse.Namespace) -> desk.Options:
    overrides = {
        name: getattr(args, name)
        for name in ("requests", "events", "clients", "seconds", "pg_workers", "threads")
        if getattr(args, name) is not None
    }
    overrides["backends"] = ("sqlite", "postgresql") if args.backend == "all" else (args.backend,)
    overrides["pg_admin_url"] = args.pg_admin_url
    overrides["keep"] = args.keep
    overrides["markdown"] = args.markdown
    return desk.Options.quick(**overrides) if args.quick else desk.Options(**overrides)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console()
    if args.only in (None, "desk"):
        desk.run(console, desk_options(args))
    if args.only in (None, "web"):
        from bench import web

        web.run(
            console,
            requests=20_000 if args.quick else args.requests or 1_000_000,
            samples=20 if args.quick else 60,
            backends=("sqlite", "postgresql") if args.backend == "all" else (args.backend,),
            pg_admin_url=args.pg_admin_url,
            keep=args.keep,
        )
    if args.only in (None, "insight"):
        import os

        from bench import insight

        if args.quick:
            os.environ.setdefault("INSIGHT_BENCH_REQUESTS", "2000")
            os.environ.setdefault("INSIGHT_BENCH_EVENTS", "20000")
        elif args.requests or args.events:
            os.environ.setdefault("INSIGHT_BENCH_REQUESTS", str(args.requests or 1_000_000))
            os.environ.setdefault("INSIGHT_BENCH_EVENTS", str(args.events or 10_000_000))
        insight.run(console)
    if args.only in (None, "import"):
        from bench import import_bench

        events = 20_000 if args.quick else args.events or 1_000_000
        import_bench.run(
            console,
            events=events,
            backends=("sqlite", "postgresql") if args.backend == "all" else (args.backend,),
            pg_admin_url=args.pg_admin_url,
        )
    if args.only in (None, "search"):
        from bench import search_bench

        search_bench.run(
            console,
            requests=20_000 if args.quick else args.requests or 1_000_000,
            samples=100 if args.quick else 400,
            backends=("sqlite", "postgresql") if args.backend == "all" else (args.backend,),
            pg_admin_url=args.pg_admin_url,
            keep=args.keep,
        )
    if args.only in (None, "roleplay"):
        from bench import roleplay

        roleplay.run(console, rounds=1 if args.quick else roleplay.ROUNDS)
    if args.only in (None, "live-roleplay"):
        from bench import live_roleplay

        live_roleplay.run(
            console,
            groups=3 if args.quick else live_roleplay.GROUPS,
            backends=("sqlite", "postgresql") if args.backend == "all" else (args.backend,),
            pg_admin_url=args.pg_admin_url,
        )
    if args.only in (None, "mail-out"):
        from bench import mail_out

        mail_out.run(
            console,
            messages=300 if args.quick else 3000,
            backends=("sqlite", "postgresql") if args.backend == "all" else (args.backend,),
            pg_admin_url=args.pg_admin_url,
        )
    if args.only in (None, "mail-in"):
        from bench import mail_in

        mail_in.run(
            console,
            samples=20 if args.quick else 200,
            backends=("sqlite", "postgresql") if args.backend == "all" else (args.backend,),
            pg_admin_url=args.pg_admin_url,
        )
    if args.only in (None, "buddies"):
        from bench import buddies

        buddies.run(console, people=1_000 if args.quick else buddies.PEOPLE)
    if args.only in (None, "fitted"):
        from bench import fitted

        fitted.run(
            console,
            requests=2_000 if args.quick else args.requests or 1_000_000,
            events=20_000 if args.quick else args.events or fitted.EVENTS,
            backends=("sqlite", "postgresql") if args.backend == "all" else (args.backend,),
        )
    if args.only in (None, "backtest"):
        from bench import backtest

        backtest.run(
            console,
            requests=20_000 if args.quick else args.requests or backtest.REQUESTS,
            keep=args.keep,
        )
    if args.only in (None, "sim"):
        try:
            sim = importlib.import_module("bench.sim")
        except ModuleNotFoundError as exc:
            if exc.name != "bench.sim":
                raise
            console.print("[yellow]bench.sim is not there; skipping the simulation benchmark")
        else:
            sim.run(console)


if __name__ == "__main__":
    main()
