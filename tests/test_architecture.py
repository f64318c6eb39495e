"""Data flows one way (ARCHITECTURE.md): a package imports only from layers to its left.

One change from ARCHITECTURE.md's table: `train` sits left of probe, bench and synth. Its scripts are
generic TRL + PEFT recipes that need no job's code, while probe trains its questioner with GRPO through
them (paper 000); the closed loop (probe -> synth -> train -> probe again) is orchestrated above them.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "scotoma"

# Left to right; packages in one layer are peers and do not import each other.
LAYERS = [
    {"types", "errors", "credentials", "yaml_files", "runlog", "cache", "progress", "prompts", "distributed"},
    {"world"},
    {"models"},
    {"engines"},
    {"judge", "serve", "slices"},
    {"train"},
    {"probe", "bench", "synth"},
    {"taxonomy", "loop"},
    {"report"},
    {"cli"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
# Modules inside the base layer may use each other (cache stores types); peers elsewhere may not.
BASE = LAYERS[0]


def top_level(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def imported_scotoma_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("scotoma."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("scotoma."):
                    found.add(alias.name.split(".")[1])
    return found


def test_every_package_has_a_layer():
    for path in PACKAGE.iterdir():
        name = path.name.removesuffix(".py")
        if (
            name.startswith("_")
            or path.suffix not in ("", ".py")
            or not (path.is_dir() or path.suffix == ".py")
        ):
            continue
        if path.is_dir() and not (path / "__init__.py").exists():
            continue
        assert name in RANK, (
            f"scotoma.{name} is not placed in a layer; add it to ARCHITECTURE.md and this test"
        )


def test_imports_flow_left_to_right():
    violations = []
    for path in PACKAGE.rglob("*.py"):
        if path.name == "__init__.py" and path.parent == PACKAGE:
            continue
        owner = top_level(path)
        for used in imported_scotoma_packages(path):
            if used == owner or used not in RANK:
                continue
            if RANK[used] > RANK[owner] or (RANK[used] == RANK[owner] and owner not in BASE):
                violations.append(f"{path.relative_to(PACKAGE)} imports scotoma.{used}")
    assert not violations, "imports against the data flow:\n" + "\n".join(violations)


def test_the_checker_catches_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from scotoma.probe.loop import run\nimport scotoma.report\n")
    assert imported_scotoma_packages(bad) == {"probe", "report"}
