"""The shape of the package, held as code (issue 8, "a house that shows it").

Read from the source with :mod:`ast`, nothing imported:

* no module runs past 500 lines (rule-engine's one concern per small module);
* no private name (``_x``) is imported from another of ``accountrules``' packages: a package's
  internals stay its own;
* the modules import each other without a cycle, counting the imports made inside functions
  (a lazy import hides a cycle from Python, not from the design) but not those under
  ``if TYPE_CHECKING:``; data flows one way, YAML -> policy -> plan -> Decision;
* no module but ``policy.py`` reads a :class:`~accountrules.Policy`'s private attributes: lower
  layers receive what they need;
* each floor imports only from its own floor or those below it (:data:`FLOORS`): one account
  followed through ``decide_many`` moves down once (read, validate, rank, match, resolve, write)
  and never climbs back into the façade (``policy.py``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "accountrules"
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
TREES: dict[str, ast.Module] = {m: ast.parse(p.read_text(encoding="utf-8"), str(p)) for m, p in MODULES.items()}


def _package(module: str) -> str:
    """``accountrules.batch`` for ``accountrules.batch.engine``; the root's own modules are one package."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or _is_package(module) else "accountrules"


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py" if module in MODULES else False


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return out


def _imports(module: str) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, name taken from it or None, line) for every accountrules import of ``module``."""
    tree = TREES[module]
    skip = _type_checking_nodes(tree)
    here = module.split(".") if _is_package(module) else module.split(".")[:-1]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target not in MODULES:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:  # ``from accountrules.batch import engine``: the module itself
                    yield sub, None, node.lineno
                else:
                    yield target, alias.name, node.lineno


def test_the_package_is_read() -> None:
    assert len(MODULES) > 100 and "accountrules.policy" in MODULES and "accountrules.batch.engine" in MODULES


def test_no_module_runs_past_500_lines() -> None:
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these modules by concern: {long}"


def test_no_private_name_is_imported_across_packages() -> None:
    found = [f"{MODULES[m].relative_to(SRC)}:{line} imports {name} from {target}"
             for m in MODULES for target, name, line in _imports(m)
             if name is not None and name.startswith("_") and not name.startswith("__")
             and _package(target) != _package(m)]
    assert not found, "\n".join(found)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m in MODULES:
        for target, _, _ in _imports(m):
            # a package's __init__ re-exporting its modules is not an edge back into them
            if target != m and not (_is_package(m) and target.startswith(m + ".")):
                graph[m].add(target)
    return graph


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_lower_layers_never_read_a_policys_private_attributes() -> None:
    policy_cls = next(n for n in TREES["accountrules.policy"].body
                      if isinstance(n, ast.ClassDef) and n.name == "Policy")
    private = {t.attr for n in ast.walk(policy_cls) if isinstance(n, ast.Assign | ast.AnnAssign)
               for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
               if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
               and t.attr.startswith("_")}
    assert {"_plan", "_evaluators"} <= private
    found = []
    for m, tree in TREES.items():
        if m == "accountrules.policy":
            continue
        for node in ast.walk(tree):
            # another object's attribute of that name (``self._plan`` of a class of its own) is its own business
            if (isinstance(node, ast.Attribute) and node.attr in private
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                found.append(f"{MODULES[m].relative_to(SRC)}:{node.lineno} reads .{node.attr}")
    assert not found, "\n".join(found)


# Floors, lowest first. A package (``accountrules.batch``) or a module at the root (``accountrules.policy``)
# sits on one floor and may import from its own floor and below. The engine (model -> batch) never
# imports the façade; what is built on the public API (testing, backtest, spark, the commands) sits above it.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("error_base",),  # the base of every error: i18n raises one too
    ("i18n", "gc_pause"),
    ("errors",),
    ("model",),
    ("parse",),
    ("check",),
    ("compile",),
    ("io",),  # the flat output schema is read from the plan
    ("evaluate",),
    ("batch", "features"),
    ("analysis", "report"),
    ("policy", "shipped"),  # the façade
    ("policy_text", "testing", "json_schema"),
    ("backtest", "spark", "cli"),  # commands live beside their feature (backtest/cli.py, spark/cli.py)
    ("", "__main__"),  # the package root re-exports the public names
)


def _floor_of(module: str) -> int:
    name = _package(module)
    unit = module if name == "accountrules" else name  # a module at the root is its own unit
    short = unit.removeprefix("accountrules").removeprefix(".")
    for i, names in enumerate(FLOORS):
        if short in names:
            return i
    raise AssertionError(f"{module} is on no floor: add its package to FLOORS")


def test_every_module_is_on_a_floor() -> None:
    for m in MODULES:
        _floor_of(m)


def test_each_floor_imports_only_from_its_floor_and_below() -> None:
    found = [f"{MODULES[m].relative_to(SRC)}:{line} imports {target} ({_floor_of(target)} above {_floor_of(m)})"
             for m in MODULES for target, _, line in _imports(m) if _floor_of(target) > _floor_of(m)
             and not (_is_package(m) and target.startswith(m + "."))]
    assert not found, "\n".join(found)


def test_no_package_exports_a_name_its_submodule_has() -> None:
    """``accountrules.backtest.sweep`` the function and ``sweep.py`` the module: importing the module
    sets the package's attribute to the module, so which one a caller gets depends on import order."""
    found = []
    for m, path in MODULES.items():
        if path.name != "__init__.py":
            continue
        exported = {elt.value for node in TREES[m].body if isinstance(node, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
                    and isinstance(node.value, ast.List | ast.Tuple)
                    for elt in node.value.elts if isinstance(elt, ast.Constant) and isinstance(elt.value, str)}
        children = {p.stem for p in path.parent.glob("*.py")} | {p.name for p in path.parent.iterdir()
                                                                if (p / "__init__.py").exists()}
        found += [f"{m}.{name}" for name in sorted(exported & children)]
    assert not found, found
