"""Data flows one way (docs/architecture.md): a package imports only from layers to its left.

The layer table and why `train` sits below the jobs and `world_models` above them are in
docs/architecture.md; this file enforces its rules, and the doc lists them.
"""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "scotoma"

# Left to right; packages in one layer are peers and do not import each other.
LAYERS = [
    {
        "types",
        "errors",
        "credentials",
        "yaml_files",
        "overrides",
        "distributed",
        "runlog",
        "cache",
        "progress",
        "prompts",
        "svg",
        "thumbnails",
    },
    {"world"},
    {"models"},
    {"engines"},
    {"judge", "serve", "slices"},
    {"train"},
    {"probe", "bench", "synth"},
    {"taxonomy", "loop", "world_models"},
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
            f"scotoma.{name} is not placed in a layer; add it to docs/architecture.md and this test"
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


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


HEAVY = ("scotoma.models", "torch", "transformers", "sentence_transformers")


def test_the_report_receives_vectors_and_never_imports_models():
    """The report reads run directories and draws; embedding questions is its callers' job (the CLI)."""
    bad = [
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in (PACKAGE / "report").rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in HEAVY or module.startswith(HEAVY[0])
    ]
    assert not bad, "\n".join(bad)


def test_importing_the_report_loads_no_ml_framework():
    import subprocess
    import sys

    code = (
        "import sys, scotoma.report; "
        "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# One home each: these helpers are defined once, in the module named here, and imported from there.
HOMES = {
    "process_rank": "distributed.py",
    "override_values": "overrides.py",
    "coerce_field": "overrides.py",
    "completion_text": "models/messages.py",
    "weights_identity": "models/weights.py",
    "get_model": "models/registry.py",
}


def defined_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def test_shared_helpers_have_one_home():
    found: dict[str, list[str]] = {name: [] for name in HOMES}
    for path in PACKAGE.rglob("*.py"):
        for name in defined_functions(path) & HOMES.keys():
            found[name].append(path.relative_to(PACKAGE).as_posix())
    assert found == {name: [home] for name, home in HOMES.items()}


def test_only_the_distributed_module_asks_for_the_rank():
    # the launcher's RANK variable and torch.distributed's get_rank are read in one place (process_rank)
    askers = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.name != "distributed.py" and re.search(r"""["']RANK["']|\bget_rank\(""", path.read_text())
    ]
    assert not askers, f"use scotoma.distributed.process_rank instead of reading the rank in {askers}"


def test_the_home_checker_sees_a_second_definition(tmp_path):
    twin = tmp_path / "twin.py"
    twin.write_text(
        "class A:\n    def completion_text(self):\n        pass\n\ndef process_rank():\n    return 0\n"
    )
    assert defined_functions(twin) & HOMES.keys() == {"completion_text", "process_rank"}


def test_the_architecture_doc_places_every_package():
    """docs/architecture.md is the living design: every package placed here appears in its layer table."""
    doc = (PACKAGE.parents[1] / "docs" / "architecture.md").read_text()
    table = doc.split("## Layers", 1)[1].split("## ", 1)[0]
    missing = sorted(name for name in RANK if f"`{name}`" not in table)
    assert not missing, f"docs/architecture.md's layer table does not name: {', '.join(missing)}"
