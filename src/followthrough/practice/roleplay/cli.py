"""`followthrough roleplay`: check scenario files, score a reply, calibrate and evaluate the scorer."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from followthrough.practice.roleplay import calibration
from followthrough.practice.roleplay.calibration import InvalidLabelledSet
from followthrough.practice.roleplay.embedding import load_embedder
from followthrough.practice.roleplay.rubric import Behaviour, Rubric, default_rubric
from followthrough.practice.roleplay.scenario import InvalidScenario, load_scenario_file
from followthrough.practice.roleplay.scoring import prepare, score_reply

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


@roleplay_app.command("score")
def score(text: Annotated[str, typer.Argument(help="A reply to score.")]) -> None:
    """Score one reply and print each behaviour with the words that earned or lost it."""
    model = prepare(default_rubric(), load_embedder())
    result = score_reply(text, model)
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
        bool, typer.Option("--write", help="Write the fitted thresholds into the package.")
    ] = False,
) -> None:
    """Fit each behaviour's similarity threshold on the fitting part of the labelled set."""
    replies = _labelled(labelled)
    rubric = default_rubric()
    phrases_only = rubric.with_thresholds(dict.fromkeys(Behaviour, 2.0))
    fitting = [reply for reply in replies if not reply.held_out]
    scored = calibration.score_all(fitting, prepare(phrases_only, load_embedder()))
    thresholds = calibration.fit_thresholds(scored, rubric)
    console = Console(width=120)
    for behaviour, threshold in thresholds.items():
        shown = "phrases only" if threshold > 1 else f"{threshold:.2f}"
        console.print(f"{behaviour.value}: {shown}")
    if write:
        target = resources.files("followthrough.practice.roleplay").joinpath("data/thresholds.json")
        payload = {
            "rubric_version": rubric.version,
            "fitted_on": len(fitting),
            "thresholds": {b.value: t for b, t in thresholds.items()},
        }
        Path(str(target)).write_text(json.dumps(payload, indent=2) + "\n", "utf-8")
        console.print(f"written to {target}")
    _report(console, replies, rubric.with_thresholds(thresholds))


@roleplay_app.command("evaluate")
def evaluate(labelled: LabelledOption = None) -> None:
    """Agreement (Cohen's kappa) of the shipped scorer with the labels, fitted and held out."""
    _report(Console(width=120), _labelled(labelled), default_rubric())


def _report(console: Console, replies: list[calibration.LabelledReply], rubric: Rubric) -> None:
    model = prepare(rubric, load_embedder())
    scored = calibration.score_all(replies, model)
    parts = {
        "held out": [s for s in scored if s.reply.held_out],
        "fitting": [s for s in scored if not s.reply.held_out],
        "all": scored,
    }
    table = Table(title=f"Agreement with the labels (rubric {rubric.version})")
    table.add_column("Behaviour")
    for name in parts:
        table.add_column(f"kappa {name}", justify="right")
    table.add_column("labelled (held out)", justify="right")
    table.add_column("precision / recall held out", justify="right")
    rows = {name: calibration.agreements(part, rubric) for name, part in parts.items()}
    for index, rule in enumerate(rubric.behaviours):
        held = rows["held out"][index]
        table.add_row(
            rule.behaviour.value,
            *(f"{rows[name][index].kappa:.2f}" for name in parts),
            f"{rows['all'][index].labelled} ({held.labelled})",
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
    console.print(
        f"Held out: {len(parts['held out'])} replies; below two observers' typical kappa "
        f"({OBSERVER_KAPPA:.2f}): {', '.join(weak) if weak else 'none'}"
    )
