"""The package layers downward, read from the source with `ast` (imports inside functions count too):

- every module has a layer in :data:`LAYERS`;
- an import points to the importer's own layer or one below it, never up;
- the applications (``eval``, ``bench``, ``train``) import none of each other: what two of them share lives in
  a lower layer (``measure``, ``paper_tables``, ``rich_table``, ``presets``, ``data``); nor do ``data`` and
  ``inference``, which stand side by side on ``images`` (both read photos through it);
- no module, and no sub-package, imports itself back through others (no cycle, hidden in a function or not).

So a new cycle, such as ``weights/hints.py`` importing ``train.config`` inside a function (as it once did),
fails here. Imports of ``deblur_cli`` only are read; tools and benchmarks sit on top with the CLI.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "deblur_cli"

# Bottom to top. A module belongs to the layer of the longest entry that names it or a package above it;
# the package's own ``__init__`` (``deblur_cli``: lazy ``restore_file`` / ``load_model``) matches only itself.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("core", ("deblur_cli.errors", "deblur_cli.atomic", "deblur_cli.hardware", "deblur_cli.torchrun", "deblur_cli.variant_spec",
              "deblur_cli.variants", "deblur_cli.registry", "deblur_cli.presets", "deblur_cli.paper_tables",
              "deblur_cli.rich_table", "deblur_cli.models", "deblur_cli.weights", "deblur_cli.measure")),
    ("images", ("deblur_cli.images",)),  # reading, writing and path planning: the one door to image files
    ("data and restoration", ("deblur_cli.data", "deblur_cli.inference", "deblur_cli")),  # side by side
    ("applications", ("deblur_cli.eval", "deblur_cli.bench", "deblur_cli.train")),
    ("interfaces", ("deblur_cli.cli", "deblur_cli.__main__", "tools", "benchmarks")),
)
APPLICATIONS = ("deblur_cli.eval", "deblur_cli.bench", "deblur_cli.train")  # siblings: none imports another
SIDE_BY_SIDE = ("deblur_cli.data", "deblur_cli.inference")  # siblings too, in the layer below


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None  # (length of the matching entry, layer index)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            exact_only = prefix == PACKAGE
            if module == prefix or (not exact_only and module.startswith(prefix + ".")):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), index)
    return None if best is None else best[1]


def sibling_of(module: str, siblings: tuple[str, ...]) -> str | None:
    return next((a for a in siblings if module == a or module.startswith(a + ".")), None)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_modules() -> dict[str, Path]:
    files = [*(ROOT / PACKAGE).rglob("*.py"), *(ROOT / "tools").glob("*.py"), *(ROOT / "benchmarks").glob("*.py")]
    return {module_name(p): p for p in sorted(files)}


def imports_of(module: str, source: str, is_package: bool, known: set[str]) -> list[tuple[str, int]]:
    """Every ``deblur_cli`` module that ``source`` imports, anywhere in the file, with its line.
    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module, else ``pkg``."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in known else target, node.lineno))
    return [(t, line) for t, line in dict.fromkeys(found) if t == PACKAGE or t.startswith(PACKAGE + ".")]


def violations(graph: dict[str, list[tuple[str, int]]]) -> list[str]:
    """Imports that go up a layer or sideways between siblings (applications; data and inference), one line each."""
    out = []
    for module, targets in sorted(graph.items()):
        here = layer_of(module)
        for target, line in targets:
            there = layer_of(target)
            if here is None or there is None:
                continue  # unmapped modules fail test_every_module_has_a_layer
            if there > here:
                out.append(f"{module}:{line} imports {target}: {LAYERS[here][0]} -> {LAYERS[there][0]} goes up")
            else:
                for siblings, what in ((APPLICATIONS, "one application imports another"),
                                       (SIDE_BY_SIDE, "data and inference import none of each other")):
                    mine, theirs = sibling_of(module, siblings), sibling_of(target, siblings)
                    if mine and theirs and mine != theirs:
                        out.append(f"{module}:{line} imports {target}: {what} (move what they share down a layer)")
    return out


def cycles(graph: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """The import loops: strongly connected components of more than one module (or a module importing itself)."""
    edges = {m: sorted({t for t, _ in targets if t in graph}) for m, targets in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph is small enough for recursion
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in edges[v]:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def import_graph() -> dict[str, list[tuple[str, int]]]:
    modules = source_modules()
    known = set(modules)
    return {m: imports_of(m, p.read_text(encoding="utf-8"), p.name == "__init__.py", known)
            for m, p in modules.items()}


# --- the package -------------------------------------------------------------------------------------------

def test_every_module_has_a_layer():
    unmapped = [m for m in source_modules() if layer_of(m) is None]
    assert not unmapped, f"add these to LAYERS in {Path(__file__).name}: {unmapped}"


def test_imports_point_down_and_applications_stay_apart():
    found = violations(import_graph())
    assert not found, "\n".join(found)


def package_graph(graph: dict[str, list[tuple[str, int]]]) -> dict[str, list[tuple[str, int]]]:
    """The module graph folded to ``deblur_cli``'s sub-packages and top modules (``deblur_cli.weights``,
    ``deblur_cli.registry``, ...): ``weights`` <-> ``train`` is a loop even when no module loop closes."""
    def unit(module: str) -> str:
        return ".".join(module.split(".")[:2])

    folded: dict[str, list[tuple[str, int]]] = {}
    for module, targets in graph.items():
        folded.setdefault(unit(module), []).extend((unit(t), line) for t, line in targets if unit(t) != unit(module))
    return folded


def test_no_import_cycles():
    graph = import_graph()
    found = {tuple(c) for c in cycles(graph) + cycles(package_graph(graph))}
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in sorted(found))


# --- the checker itself, on synthetic sources ----------------------------------------------------------------

KNOWN = {"deblur_cli.weights", "deblur_cli.weights.hints", "deblur_cli.train", "deblur_cli.train.config",
         "deblur_cli.eval", "deblur_cli.eval.eval_run", "deblur_cli.bench", "deblur_cli.bench.timing",
         "deblur_cli.measure", "deblur_cli.measure.timing", "deblur_cli.presets"}


def test_checker_catches_the_old_hints_to_train_config_import_inside_a_function():
    old_hints = ("def train_command(name):\n"
                 "    from ..train.config import presets_for_variant\n"
                 "    return presets_for_variant(name)\n")
    graph = {"deblur_cli.weights.hints": imports_of("deblur_cli.weights.hints", old_hints, False, KNOWN)}
    assert graph["deblur_cli.weights.hints"] == [("deblur_cli.train.config", 2)]
    (message,) = violations(graph)
    assert "deblur_cli.weights.hints:2 imports deblur_cli.train.config: core -> applications goes up" == message
    # and the import it was replaced by passes
    new_hints = "from ..presets import presets_for_variant\n"
    assert not violations({"deblur_cli.weights.hints": imports_of("deblur_cli.weights.hints", new_hints, False,
                                                                  KNOWN)})


def test_checker_catches_one_application_importing_another():
    source = "def f():\n    from deblur_cli.bench import timing\n"
    graph = {"deblur_cli.eval.eval_run": imports_of("deblur_cli.eval.eval_run", source, False, KNOWN)}
    assert graph["deblur_cli.eval.eval_run"] == [("deblur_cli.bench.timing", 2)]
    assert ["one application imports another" in v for v in violations(graph)] == [True]
    fixed = {"deblur_cli.eval.eval_run": imports_of("deblur_cli.eval.eval_run", "from ..measure import timing\n",
                                                  False, KNOWN)}
    assert fixed["deblur_cli.eval.eval_run"] == [("deblur_cli.measure.timing", 1)] and not violations(fixed)


def test_checker_keeps_data_and_inference_apart():
    graph = {"deblur_cli.data.datasets": [("deblur_cli.inference.imageio", 20)],  # how data once read a photo
             "deblur_cli.inference.engine": [("deblur_cli.images", 3)]}
    (message,) = violations(graph)
    assert message.startswith("deblur_cli.data.datasets:20 imports deblur_cli.inference.imageio: data and inference")
    assert not violations({"deblur_cli.data.datasets": [("deblur_cli.images", 20)]})


def test_checker_finds_a_package_cycle_that_no_module_closes():
    graph = {"deblur_cli.weights.hints": [("deblur_cli.train.config", 9)], "deblur_cli.train.config": [],
             "deblur_cli.train.perceptual": [("deblur_cli.weights.hub", 59)], "deblur_cli.weights.hub": []}
    assert not cycles(graph)
    assert cycles(package_graph(graph)) == [["deblur_cli.train", "deblur_cli.weights"]]


def test_checker_finds_a_cycle_within_a_layer():
    graph = {"deblur_cli.weights.hints": [("deblur_cli.presets", 1)],
             "deblur_cli.presets": [("deblur_cli.weights.hints", 9)],
             "deblur_cli.measure.timing": []}
    assert not violations(graph)  # both core: the layers alone would let it through
    assert cycles(graph) == [["deblur_cli.presets", "deblur_cli.weights.hints"]]


@pytest.mark.parametrize("module, layer", [("deblur_cli", "data and restoration"),
                                           ("deblur_cli.inference.api", "data and restoration"),
                                           ("deblur_cli.images", "images"), ("deblur_cli.models.bag", "core"),
                                           ("deblur_cli.images.sixteen_bit", "images"),
                                           ("deblur_cli.images.paths", "images"),
                                           ("deblur_cli.data.datasets", "data and restoration"),
                                           ("tools.measure_photos", "interfaces"),
                                           ("deblur_cli.new_module", None)])
def test_layer_of(module, layer):
    index = layer_of(module)
    assert (None if index is None else LAYERS[index][0]) == layer
