"""The house keeps its shape: no import cycles, rooms of a legible size, and a map that is true."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "evalkit"
MAX_LINES = 600  # the design's "split a module when it passes ~600 lines"
# Modules allowed past it (none: split a module along a seam a reader would name).
KNOWN_LONG: dict[str, int] = {}


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """Every evalkit module ``path`` imports (module level or inside functions)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    # imports under `if TYPE_CHECKING:` exist for annotations only and never run
    typing_only = {
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for n in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = package.split(".")
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for t in targets:
            while t and t not in modules:
                t = t.rpartition(".")[0]
            if t and t != name and t != "evalkit":
                out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    files = [p for p in SRC.rglob("*.py")]
    modules = {module_name(p) for p in files}
    return {module_name(p): imports_of(p, modules) for p in files}


def test_no_import_cycle_among_evalkit_modules():
    g = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(g.get(m, ())):
            if n.startswith(m + ".") or m.startswith(n + "."):  # a package and its own modules
                continue
            if state.get(n) == 1:
                cycle = stack[stack.index(n):] + [n]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m)


def test_lower_rooms_do_not_import_the_review():
    g = graph()
    for m, deps in g.items():
        if m.startswith(("evalkit.data", "evalkit.indicators", "evalkit.composite", "evalkit.models")):
            assert not any(d.startswith("evalkit.review") for d in deps), (m, deps)


def test_no_module_reaches_into_another_rooms_private_names():
    pattern = re.compile(r"from (evalkit(?:\.\w+)+) import ([^\n]+)")
    for path in SRC.rglob("*.py"):
        here = module_name(path)
        room = ".".join(here.split(".")[:2])
        for mod, names in pattern.findall(path.read_text(encoding="utf-8")):
            other = ".".join(mod.split(".")[:2])
            if other == room:
                continue
            private = [n.strip() for n in names.split(",") if n.strip().startswith("_") and n.strip() != "__version__"]
            assert not private, f"{here} imports private {private} from {mod}"


def test_modules_stay_legible():
    long = {module_name(p): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > KNOWN_LONG.get(module_name(p), MAX_LINES)}
    assert not long, f"split these modules along a seam a reader would name: {long}"


def test_architecture_doc_names_only_modules_that_exist():
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    named = {n for n in re.findall(r"`((?:evalkit/)?[\w/]+\.py)`", doc) if not n.startswith(("tests/", "bench/"))}
    assert len(named) >= 15
    for name in named:
        rel = name.removeprefix("evalkit/")
        assert (SRC / rel).exists(), f"docs/ARCHITECTURE.md names {name}, which does not exist"
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if path.name == "__init__.py":
            continue
        assert rel in named or f"evalkit/{rel}" in named, f"docs/ARCHITECTURE.md does not map {rel}"
