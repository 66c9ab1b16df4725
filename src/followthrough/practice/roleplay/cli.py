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
from followthrough.practice.roleplay.rubric import Behaviour, default_rubric
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
        # One line, never wrapped: editors read "file:line: problem".
        Console(soft_wrap=True).print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from error


def _fresh(paths: list[Path] | None) -> list[list[calibration.LabelledReply]]:
    try:
        if paths:
            return [calibration.load_labelled(path, fresh=True) for path in paths]
        return [calibration.shipped_fresh(name) for name in calibration.FRESH_FILES]
    except InvalidLabelledSet as error:
        # One line, never wrapped: editors read "file:line: problem".
        Console(soft_wrap=True).print(str(error), markup=False, highlight=False)
        raise typer.Exit(2) from error


LabelledOption = Annotated[
    Path | None, typer.Option("--labelled", help="A labelled set (default: the shipped one).")
]
FreshOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--fresh",
        help="Later fresh sets, oldest first, each reported apart (default: the shipped ones).",
    ),
]


@roleplay_app.command("calibrate")
def calibrate(
    labelled: LabelledOption = None,
    fresh: FreshOption = None,
    write: Annotated[
        bool, typer.Option("--write", help="Write the fitted cues into the package.")
    ] = False,
) -> None:
    """Fit the learned cues on the fitting part of the labelled set and the spent fresh sets
    (cross-validated), then report agreement on every part with them."""
    replies = _labelled(labelled)
    rubric = default_rubric()
    console = Console(width=170)
    phrases_only = prepare(rubric, load_embedder())
    # The fitting part, and the fresh sets spent on tuning the rules (with the shipped set only).
    spent = (
        []
        if labelled
        else [r for n in calibration.FITTED_FRESH for r in calibration.shipped_fresh(n)]
    )
    fitting = [reply for reply in replies if reply.fitting] + spent
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
    _report(console, calibration.parts(replies, _fresh(fresh)), model)


@roleplay_app.command("evaluate")
def evaluate(labelled: LabelledOption = None, fresh: FreshOption = None) -> None:
    """Agreement of the shipped scorer with the labels (kappa, precision, recall) on each part:
    held out and each fresh set (never fitted), and the fitting part."""
    parts = calibration.parts(_labelled(labelled), _fresh(fresh))
    _report(Console(width=170), parts, shipped_model())


# The one part the learned cues were fitted on: kappa only (precision and recall elsewhere).
FITTING = "fitting"


def _report(
    console: Console, parts: dict[str, list[calibration.LabelledReply]], model: ScoringModel
) -> None:
    rubric = model.rubric
    rows = {
        name: calibration.agreements(calibration.score_all(replies, model), rubric)
        for name, replies in parts.items()
    }
    table = Table(title=f"Agreement with the labels (scorer {model.version})")
    table.add_column("Behaviour")
    for name, replies in parts.items():
        detail = "kappa / precision / recall (shown)" if name != FITTING else "kappa"
        table.add_column(f"{name}, {len(replies)} replies: {detail}", justify="right")
    for index, rule in enumerate(rubric.behaviours):
        cells = []
        for name in parts:
            row = rows[name][index]
            cells.append(
                f"{row.kappa:.2f} / {row.precision:.2f} / {row.recall:.2f} ({row.labelled})"
                if name != FITTING
                else f"{row.kappa:.2f}"
            )
        table.add_row(rule.behaviour.value, *cells)
    console.print(table)
    deflection = {
        name: next(r for r in rows[name] if r.behaviour is Behaviour.DEFLECTS) for name in parts
    }
    console.print(
        "Deflections caught (recall): "
        + ", ".join(
            f"{name} {row.recall:.0%} of {row.labelled} (precision {row.precision:.2f})"
            for name, row in deflection.items()
        )
    )
    weak = {
        name: [r.behaviour.value for r in rows[name] if r.kappa < OBSERVER_KAPPA]
        for name in parts
        if name != FITTING
    }
    console.print(
        f"Below two observers' typical kappa ({OBSERVER_KAPPA:.2f}): "
        + "; ".join(f"{name} {', '.join(found) or 'none'}" for name, found in weak.items())
    )
