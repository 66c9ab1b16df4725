"""What `make test` costs: each of its steps' wall time and CPU time, PostgreSQL's included.

    python bench/test_time.py [--repo DIR] [--json FILE] [-- extra pytest arguments]

The steps are read from `make -n test` in the checkout (so an older commit is measured by its
own Makefile), without the install steps, and run one after another like make runs them.

Wall time depends on what else the machine is doing; CPU time barely does, so both are given:
- the steps' own CPU: user + system of every process they started and waited for
  (getrusage(RUSAGE_CHILDREN) before and after; pytest-xdist's workers, uvicorn threads and
  Chromium included);
- PostgreSQL's CPU: its server processes are not ours. "all" is every backend's CPU in the
  interval (the postmaster's reaped children plus the live ones), exact but including anyone
  else's queries; "ours" is the backends serving databases whose name carries one of the run's
  process ids (ft_test_…_<pid>), sampled ten times a second, so a lower bound.
Load and other people's pytest processes are printed at the start and the end: when "all" is far
above "ours", somebody else was using the database server too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
# Lines of `make -n test` that install things rather than check or test them.
INSTALL_STARTS = ("touch ", "npm ", "mkdir ", "cp ")


@dataclass
class Step:
    command: str
    returncode: int = 0
    wall: float = 0.0
    cpu_user: float = 0.0
    cpu_system: float = 0.0
    pg_all: float = 0.0
    pg_ours: float = 0.0

    @property
    def cpu(self) -> float:
        return self.cpu_user + self.cpu_system


@dataclass
class Run:
    repo: str
    commit: str
    steps: list[Step] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    others_before: int = 0
    others_after: int = 0


def make_steps(repo: Path) -> list[str]:
    dry = subprocess.run(
        ["make", "-n", "test"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout
    # A recipe line ending in a backslash goes on in the next one.
    dry = dry.replace("\\\n", " ")
    return [
        line
        for line in dry.splitlines()
        if line.strip()
        and " -m venv " not in line
        and "pip install" not in line
        and not line.startswith(INSTALL_STARTS)
    ]


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces; the fields after it are fixed.
    return raw[raw.rindex(")") + 2 :].split()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _postmaster() -> int | None:
    for pid in _pids():
        fields = _stat(pid)
        if fields is not None and fields[1] == "1" and "postgres -D" in _cmdline(pid):
            return pid
    return None


def pg_total(postmaster: int | None) -> float:
    """Seconds of CPU the server's processes have used so far (reaped backends included)."""
    if postmaster is None:
        return 0.0
    fields = _stat(postmaster)
    if fields is None:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of stat; [0] here is field 3 (state).
    ticks = sum(int(x) for x in fields[11:15])
    for pid in _pids():
        child = _stat(pid)
        if child is not None and child[1] == str(postmaster):
            ticks += int(child[11]) + int(child[12])
    return ticks / CLK_TCK


class OurBackends(threading.Thread):
    """Samples the CPU of backends whose database name ends in a process id of ours."""

    def __init__(self, postmaster: int | None) -> None:
        super().__init__(daemon=True)
        self.postmaster = postmaster
        self.seen: dict[int, float] = {}
        self.stopping = threading.Event()

    def _ours(self) -> set[int]:
        me = os.getpid()
        parents = {}
        for pid in _pids():
            fields = _stat(pid)
            if fields is not None:
                parents[pid] = int(fields[1])
        ours = set()
        for pid in parents:
            walk = pid
            while walk > 1 and walk != me:
                walk = parents.get(walk, 1)
            if walk == me:
                ours.add(pid)
        return ours

    def run(self) -> None:
        if self.postmaster is None:
            return
        pattern = re.compile(r"postgres: (?:\S+: )?\S+ (\S+?)_(\d+) ")
        while not self.stopping.wait(0.1):
            ours = self._ours()
            for pid in _pids():
                fields = _stat(pid)
                if fields is None or fields[1] != str(self.postmaster):
                    continue
                match = pattern.match(_cmdline(pid))
                if match and int(match.group(2)) in ours:
                    self.seen[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK

    def total(self) -> float:
        return sum(self.seen.values())


def others() -> int:
    """pytest processes on the machine that are not this run's."""
    me = os.getpid()
    count = 0
    for pid in _pids():
        if pid != me and "pytest" in _cmdline(pid):
            count += 1
    return count


def run_step(command: str, repo: Path, postmaster: int | None) -> Step:
    step = Step(command)
    sampler = OurBackends(postmaster)
    sampler.start()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    pg_before = pg_total(postmaster)
    started = time.monotonic()
    step.returncode = subprocess.run(command, shell=True, cwd=repo).returncode
    step.wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Backends end a moment after their client closes; let them finish before reading.
    time.sleep(0.5)
    step.pg_all = pg_total(postmaster) - pg_before
    sampler.stopping.set()
    sampler.join()
    step.pg_ours = sampler.total()
    step.cpu_user = after.ru_utime - before.ru_utime
    step.cpu_system = after.ru_stime - before.ru_stime
    return step


def report(run: Run) -> str:
    lines = [
        f"{run.repo} at {run.commit}",
        f"load before {run.load_before}, after {run.load_after}; other pytest processes"
        f" before {run.others_before}, after {run.others_after}",
        f"{'step':<58} {'rc':>3} {'wall s':>8} {'cpu s':>8} {'pg ours':>8} {'pg all':>8}",
    ]
    for step in run.steps:
        name = step.command if len(step.command) <= 58 else step.command[:55] + "..."
        lines.append(
            f"{name:<58} {step.returncode:>3} {step.wall:>8.1f} {step.cpu:>8.1f}"
            f" {step.pg_ours:>8.1f} {step.pg_all:>8.1f}"
        )
    total = Step(
        "total",
        returncode=max((s.returncode for s in run.steps), default=0),
        wall=sum(s.wall for s in run.steps),
        cpu_user=sum(s.cpu_user for s in run.steps),
        cpu_system=sum(s.cpu_system for s in run.steps),
        pg_all=sum(s.pg_all for s in run.steps),
        pg_ours=sum(s.pg_ours for s in run.steps),
    )
    lines.append(
        f"{'total':<58} {total.returncode:>3} {total.wall:>8.1f} {total.cpu:>8.1f}"
        f" {total.pg_ours:>8.1f} {total.pg_all:>8.1f}"
    )
    lines.append(
        f"total CPU with PostgreSQL's: {total.cpu + total.pg_ours:.1f} s (ours)"
        f" / {total.cpu + total.pg_all:.1f} s (all)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument("pytest_args", nargs="*", help="Appended to the pytest step.")
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
    ).stdout.strip()
    run = Run(str(repo), commit)
    postmaster = _postmaster()
    run.load_before = os.getloadavg()
    run.others_before = others()
    for command in make_steps(repo):
        if "/pytest" in command.split(" ", 1)[0] and args.pytest_args:
            command += " " + " ".join(shlex.quote(a) for a in args.pytest_args)
        print(f"$ {command}", flush=True)
        run.steps.append(run_step(command, repo, postmaster))
    run.load_after = os.getloadavg()
    run.others_after = others()
    text = report(run)
    print(text)
    if args.json:
        figures = asdict(run) | {"report": text}
        args.json.write_text(json.dumps(figures, indent=2))
    return max((s.returncode for s in run.steps), default=0)


if __name__ == "__main__":
    sys.exit(main())
