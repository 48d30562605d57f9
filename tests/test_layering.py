"""The package's layering (CONTRIBUTING.md): imports go one way, engines know no family.

Every import of every module under keras_cnns/ counts, those inside functions too: a
back-edge cut by an import inside a function is still a cycle.
"""

import ast
import pathlib
import re

import pytest

import keras_cnns

PACKAGE = pathlib.Path(keras_cnns.__file__).parent
#: Each subpackage or top-level module, and its rank: a unit imports only units of a lower
#: rank (CONTRIBUTING.md, "Layering"). The package's __init__ and __main__ gather
#: everything and stand outside.
LAYERS = {
    "layers": 0,
    "weights": 0,
    "data": 1,
    "models": 1,
    "training": 2,
    "imagenet": 2,
    "analysis": 2,
    "compare": 2,
    "fold": 2,
    "tuning": 3,
    "predict": 3,
    "evaluate": 3,
    "export": 3,
    "diagram": 3,
    "experiments": 3,
    "visualize": 4,
}


def _unit(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "keras_cnns" else None


def _imports():
    """``{(importing unit, imported unit): [where, ...]}`` over every module's imports."""
    edges = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        source = _unit(module)
        if source is None or source.startswith("__"):
            continue
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                name = ".".join(base + ([node.module] if node.module else [])) if node.level else node.module or ""
                names = [f"{name}.{alias.name}" for alias in node.names] if name == "keras_cnns" else [name]
            else:
                continue
            for name in names:
                target = _unit(name)
                if target and target != source and not target.startswith("__"):
                    edges.setdefault((source, target), []).append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return edges


def test_every_unit_has_a_layer():
    units = {path.stem if path.suffix else path.name for path in PACKAGE.iterdir()
             if (path.suffix == ".py" or (path / "__init__.py").exists()) and not path.name.startswith("__")}
    assert units == set(LAYERS), "give the new unit a rank here and in CONTRIBUTING.md"


def test_imports_only_go_down_the_layers_so_there_is_no_cycle():
    edges = _imports()
    upward = {edge: where for edge, where in edges.items() if LAYERS[edge[0]] <= LAYERS[edge[1]]}
    assert not upward, "\n".join(f"{a} imports {b} at {', '.join(where)}" for (a, b), where in upward.items())
    # With every edge going down there can be no cycle; check it directly all the same.
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)

    def reaches(start, goal, seen=()):
        return any(n == goal or (n not in seen and reaches(n, goal, (*seen, n))) for n in graph.get(start, ()))

    assert not [a for a in graph if reaches(a, a)]


def test_the_weight_engines_name_no_family():
    """The generic engines know formats, never families: no family, variant or
    architecture name appears in keras_cnns/weights/, not even in a docstring."""
    stems = {re.match(r"[a-z]+", name).group() for name in keras_cnns.list_models()}
    families = {keras_cnns.model_info(name).family for name in keras_cnns.list_models()}
    names = sorted({n for n in stems | families | set(keras_cnns.list_models()) if len(n) >= 3})
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")", re.IGNORECASE)
    found = [f"{path.name}:{i}: {line.strip()}" for path in sorted((PACKAGE / "weights").glob("*.py"))
             for i, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_a_module_fits_in_one_reading(path):
    assert len(path.read_text().splitlines()) < 600
