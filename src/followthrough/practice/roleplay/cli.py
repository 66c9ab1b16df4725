"""`followthrough roleplay`: check scenario files, score a reply, calibrate and evaluate the scorer."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from followthrough.practice.roleplay import calibration
from followthrough.practice.roleplay.calibration import InvalidLabelledSet
from followthrough.practice.roleplay.embedding import load_embedder
from followthrough.practice.roleplay.rubric import default_rubric
from followthrough.practice.roleplay.scenario import InvalidScenario, load_scenario_file
from followthrough.practice.roleplay.scoring import (
    ScoringModel,
    prepare,
    score_reply,
    shipped_model,
)

roleplay_app = typer.Typer(
    help="Role plays: check scenario files, score replies, calibrate the scorer.",
    no_args_is_help=True,
)

# What two trained observers reach when coding the same conversations, for the report
# (docs/roleplay.md says where the figure comes from).
OBSERVER_KAPPA = 0.60


@roleplay_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="Scenario files (.yaml) to check.")],
) -> None:
    """Check scenario files; print OK or each problem as file:line, and exit 2 on any problem."""
    # One problem per line, never wrapped: editors and CI read "file:line: problem".
    console = Console(soft_wrap=True)
    failed = False
    for path in files:
        try:
            scenario = load_scenario_file(path)
        except OSError as error:
            console.print(f"{path}:1: cannot read the file ({error.strerror})", markup=False)
            failed = True
        except UnicodeDecodeError:
            console.print(f"{path}:1: the file is not UTF-8 text", markup=False)
            failed = True
        except InvalidScenario as error:
            for problem in error.problems:
                console.print(problem, markup=False, highlight=False)
            failed = True
        else:
            console.print(
                f"{path}: OK ({scenario.name} version {scenario.version}, "
                f"{len(scenario.nodes)} steps, {len(scenario.endings)} endings)",
                markup=False,
            )
    if failed:
        raise typer.Exit(2)


SINCE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


@roleplay_app.command("export-xapi")
def export_xapi(
    since: Annotated[
        datetime,
        typer.Option(help="Statements recorded from this date (UTC) on.", formats=SINCE_FORMATS),
    ],
    database_url: Annotated[
        str | None,
        typer.Option(help="Overrides FOLLOWTHROUGH_DATABASE_URL.", show_default=False),
    ] = None,
) -> None:
    """Write the role plays' learning records (xAPI 1.0.3 statements) as one JSON array, for
    loading into any learning record store."""
    # Imported here: `followthrough` starts without the database layer for the other commands.
    from followthrough.config import load_settings
    from followthrough.db import Database
    from followthrough.practice.roleplay.xapi_outbox import statements_since

    try:
        settings = load_settings(database_url=database_url)
    except ValueError as error:
        Console(stderr=True, soft_wrap=True).print(f"settings: {error}", markup=False)
        raise typer.Exit(2) from None
    database = Database(settings.database_url)
    try:
        with database.unit_of_work(readonly=True) as session:
            statements = statements_since(session, settings, since.replace(tzinfo=UTC))
    finally:
        database.dispose()
    sys.stdout.write(json.dumps(statements, ensure_ascii=False, indent=1) + "\n")


@roleplay_app.command("score")
def score(text: Annotated[str, typer.Argument(help="A reply to score.")]) -> None:
    """Score one reply and print each behaviour with the words that earned or lost it."""
    result = score_reply(text, shipped_model())
    table = Table("Block", "Behaviour", "Points", "Why", "Words")
    for item in result.behaviours:
        table.add_row(
            item.block.value,
            item.title,
            f"{item.points:+d}" if item.points else "0",
            item.explanation,
            item.span.text if item.span else "",
        )
    Console().print(table)


def _labelled(path: Path | None) -> list[calibration.LabelledReply]:
    try:
        return calibration.load_labelled(path) if path else calibration.shipped_labelled()
    except InvalidLabelledSet as error:
        Console().print(str(error), markup=False)
        raise typer.Exit(2) from error


LabelledOption = Annotated[
    Path | None, typer.Option("--labelled", help="A labelled set (default: the shipped one).")
]


@roleplay_app.command("calibrate")
def calibrate(
    labelled: LabelledOption = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write the fitted cues into the package.")
    ] = False,
) -> None:
    """Fit the learned cues on the fitting part of the labelled set (cross-validated), then
    report agreement on every part with them."""
    replies = _labelled(labelled)
    rubric = default_rubric()
    console = Console(width=120)
    phrases_only = prepare(rubric, load_embedder())
    fitting = [reply for reply in replies if reply.fitting]
    items = calibration.prepare_replies(fitting, phrases_only)
    learned, choices = calibration.fit_learned(items, rubric)
    table = Table(title=f"Learned cues, cross-validated on {len(fitting)} fitting replies")
    for column in ("Behaviour", "phrases: kappa / recall", "cue alone: kappa / recall", "cue"):
        table.add_column(column)
    for choice in choices:
        table.add_row(
            choice.behaviour.value,
            f"{choice.phrases_kappa:.2f} / {choice.phrases_recall:.2f}",
            f"{choice.kappa:.2f} / {choice.recall:.2f}",
            "none (phrases only)"
            if choice.strength is None
            else f"C={choice.strength:g}, at {choice.threshold:.2f}",
        )
    console.print(table)
    if write:
        target = resources.files("followthrough.practice.roleplay").joinpath("data/learned.json")
        Path(str(target)).write_text(
            calibration.learned_json(learned, choices, len(fitting)), "utf-8"
        )
        console.print(f"written to {target} (version {learned.version})")
    model = prepare(rubric, load_embedder(), learned.cues, learned.version)
    _report(console, replies, model)


@roleplay_app.command("evaluate")
def evaluate(labelled: LabelledOption = None) -> None:
    """Agreement (Cohen's kappa) of the shipped scorer with the labels, fitted and held out."""
    _report(Console(width=120), _labelled(labelled), shipped_model())


def _report(
    console: Console, replies: list[calibration.LabelledReply], model: ScoringModel
) -> None:
    rubric = model.rubric
    scored = calibration.score_all(replies, model)
    parts = {
        "held out": [s for s in scored if s.reply.held_out],
        "fresh": [s for s in scored if s.reply.fresh],
        "fitting": [s for s in scored if s.reply.fitting],
        "all": scored,
    }
    table = Table(title=f"Agreement with the labels (scorer {model.version})")
    table.add_column("Behaviour")
    for name in parts:
        table.add_column(f"kappa {name}", justify="right")
    table.add_column("labelled (held out, fresh)", justify="right")
    table.add_column("precision / recall held out", justify="right")
    rows = {name: calibration.agreements(part, rubric) for name, part in parts.items()}
    for index, rule in enumerate(rubric.behaviours):
        held = rows["held out"][index]
        table.add_row(
            rule.behaviour.value,
            *(f"{rows[name][index].kappa:.2f}" for name in parts),
            f"{rows['all'][index].labelled} ({held.labelled}, {rows['fresh'][index].labelled})",
            f"{held.precision:.2f} / {held.recall:.2f}",
        )
    console.print(table)
    deflection = {name: rows[name][3] for name in parts}
    console.print(
        "Deflections caught (recall): "
        + ", ".join(
            f"{name} {row.recall:.0%} of {row.labelled}" for name, row in deflection.items()
        )
    )
    weak = [r.behaviour.value for r in rows["held out"] if r.kappa < OBSERVER_KAPPA]
    weak_fresh = [r.behaviour.value for r in rows["fresh"] if r.kappa < OBSERVER_KAPPA]
    console.print(
        f"Held out: {len(parts['held out'])} replies; fresh: {len(parts['fresh'])}. Below two "
        f"observers' typical kappa ({OBSERVER_KAPPA:.2f}): held out "
        f"{', '.join(weak) if weak else 'none'}; fresh {', '.join(weak_fresh) if weak_fresh else 'none'}"
    )
