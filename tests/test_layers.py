"""Dependencies point one way: the import contract holds, every module has a layer, and no import
inside a function hides a cycle (docs/architecture.md, "Layers and the import contract")."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "followthrough"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *extra],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> list[str]:
    return sorted(_module_name(path) for path in SOURCE.rglob("*.py"))


def _layered_modules() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["id"] == "layers"]
    named: set[str] = set()
    for layer in layers["layers"]:
        for part in layer.replace("|", ":").split(":"):
            named.add(part.strip().strip("()"))
    return named


def test_every_import_contract_is_kept() -> None:
    """`lint-imports` with the project's contracts (pyproject.toml) passes."""
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_is_placed_in_a_layer() -> None:
    """A module in no layer would be checked by no layer rule; a new module must be placed."""
    named = _layered_modules()

    def placed(module: str) -> bool:
        ancestors = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 2)]
        # A package whose children are placed one by one (followthrough.requests) holds nothing.
        return any(a in named for a in ancestors) or any(n.startswith(module + ".") for n in named)

    unplaced = [m for m in _modules() if not placed(m)]
    assert unplaced == [], f"place these in a layer of [tool.importlinter] layers: {unplaced}"


def _imports_inside_functions() -> list[tuple[str, str, int]]:
    """(importer, imported, line) for every import of the package made inside a function."""
    found: list[tuple[str, str, int]] = []
    for path in SOURCE.rglob("*.py"):
        module = _module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        up = package.split(".")[: len(package.split(".")) - node.level + 1]
                        base = ".".join([*up, base] if base else up)
                    names = [f"{base}.{alias.name}" for alias in node.names]
                    targets = [n for n in names if (SOURCE.parent / n.replace(".", "/")).exists()]
                    targets = targets or [base]
                elif isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                else:
                    continue
                found.extend(
                    (module, target, node.lineno)
                    for target in targets
                    if target.split(".")[0] == "followthrough"
                )
    return found


def test_no_import_inside_a_function_hides_a_cycle() -> None:
    """An import moved into a function to dodge a cycle still makes one: the imported module
    must not lead back to the importer. (Lazy imports for start-up speed do not.)"""
    graph = grimp.build_graph("followthrough", cache_dir=None)
    hidden = []
    for importer, imported, line in _imports_inside_functions():
        if imported not in graph.modules:
            imported = imported.rpartition(".")[0]
        if imported != importer and graph.chain_exists(importer=imported, imported=importer):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            hidden.append(f"{importer}:{line} imports {imported}, which leads back: {back}")
    assert hidden == [], "\n".join(hidden)


@pytest.fixture
def tiny_project(tmp_path: Path) -> Path:
    """A package of two layers whose lower layer imports the upper one inside a function."""
    package = tmp_path / "src" / "tiny"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "upper.py").write_text("from tiny import lower\n")
    (package / "lower.py").write_text(
        textwrap.dedent(
            """
            def late():
                from tiny import upper

                return upper
            """
        )
    )
    (tmp_path / ".importlinter").write_text(
        textwrap.dedent(
            """
            [importlinter]
            root_package = tiny

            [importlinter:contract:layers]
            name = Layers
            type = layers
            layers =
                tiny.upper
                tiny.lower
            """
        )
    )
    return tmp_path


def test_the_checker_sees_an_import_inside_a_function(tiny_project: Path) -> None:
    """The contract would not hold by accident: an upward import hidden in a function breaks it."""
    result = _lint_imports(tiny_project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "tiny.lower is not allowed to import tiny.upper" in result.stdout
