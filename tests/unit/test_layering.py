"""The layout holds: no import cycle between project modules or between their
packages, and every layer points inward (ARCHITECTURE.md, "The layout").

Imports are read with `ast` from the source, so those under `TYPE_CHECKING` and
inside functions count as much as those at the top of a module.
"""

from __future__ import annotations

import ast
import re
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The project's own code; test modules themselves import only these and the libraries.
TREES = ("events", "projections", "services", "bench", "tests/harness")
# What a layer must never import: the domain is pure, read models know no service.
OUTWARD = {"events": ("projections", "services", "tests", "bench"),
           "projections": ("services", "tests", "bench"),
           "services": ("tests", "bench")}
MAX_LOOSE_SERVICES = 8
READ_STORES = ("services.backends.sqlite_reads", "services.backends.postgres_reads")


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    found = {}
    for tree in TREES:
        for path in sorted((root / tree).rglob("*.py")):
            found[module_name(path, root)] = path
    return found


def _resolve(name: str, known: Mapping[str, Path]) -> str | None:
    """The project module an import reaches: the longest known prefix of `name`."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def imports_of(module: str, path: Path, known: Mapping[str, Path]) -> set[str]:
    """Every project module `module` imports, wherever the import statement stands."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from a import b` reaches the module a.b when b is one, else a itself.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            reached = _resolve(target, known)
            if reached is not None and reached != module:
                found.add(reached)
    return found


def import_graph(known: Mapping[str, Path]) -> dict[str, set[str]]:
    return {module: imports_of(module, path, known) for module, path in known.items()}


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def room(module: str) -> str:
    """The package (or loose module) a module lives in: its first two name parts."""
    return ".".join(module.split(".")[:2])


def rooms(graph: Mapping[str, Iterable[str]]) -> dict[str, set[str]]:
    collapsed: dict[str, set[str]] = {}
    for module, targets in graph.items():
        edges = collapsed.setdefault(room(module), set())
        edges.update(room(t) for t in targets if room(t) != room(module))
    return collapsed


def outward(graph: Mapping[str, Iterable[str]]) -> Iterator[str]:
    for module, targets in sorted(graph.items()):
        forbidden = OUTWARD.get(module.split(".")[0], ())
        for target in sorted(targets):
            if target.split(".")[0] in forbidden:
                yield f"{module} imports {target}"


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(project_modules())


def test_no_import_cycle_between_modules(graph: dict[str, set[str]]) -> None:
    assert cycles(graph) == []


def test_no_import_cycle_between_packages(graph: dict[str, set[str]]) -> None:
    assert cycles(rooms(graph)) == []


def test_layers_point_inward(graph: dict[str, set[str]]) -> None:
    assert list(outward(graph)) == []


def test_each_read_store_imports_only_the_abstract_one(graph: dict[str, set[str]]) -> None:
    for store in READ_STORES:
        assert {m for m in graph[store] if m.startswith("services")} == {
            "services.readside.store"}, store


def test_services_keeps_few_loose_modules() -> None:
    loose = [p.name for p in (ROOT / "services").glob("*.py") if p.name != "__init__.py"]
    assert len(loose) <= MAX_LOOSE_SERVICES, sorted(loose)


# Only the backends and the composition root choose a store or build a Kafka client
# (ARCHITECTURE.md, "The layout"): no other module of the code names a database driver or
# a Kafka client class, even as a type.
DRIVERS = {"sqlite3", "psycopg", "psycopg_pool", "KafkaProducer", "KafkaConsumer",
           "KafkaAdminClient"}
CHOOSERS = ("services.backends", "services.bootstrap")


def driver_names(path: Path) -> list[str]:
    """Where a module names a database driver or a Kafka client class."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [(node.module or "").split(".")[0]] + [alias.name for alias in node.names]
        elif isinstance(node, ast.Name):
            names = [node.id]
        elif isinstance(node, ast.Attribute):
            names = [node.attr]
        found += [f"{path.name}:{node.lineno} {name}" for name in names if name in DRIVERS]
    return found


def test_only_the_backends_and_bootstrap_name_a_driver_or_kafka_client() -> None:
    found = {module: driver_names(path) for module, path in project_modules().items()
             if module.split(".")[0] in ("events", "projections", "services")
             and not module.startswith(CHOOSERS)}
    assert {m: names for m, names in found.items() if names} == {}


def test_a_driver_or_kafka_client_named_is_found(tmp_path: Path) -> None:
    (tmp_path / "relay.py").write_text(
        "import psycopg.sql\nfrom kafka import KafkaProducer, TopicPartition\n"
        "def f(db: 'x') -> None:\n    import sqlite3\n    c = kafka.KafkaConsumer()\n")
    assert driver_names(tmp_path / "relay.py") == [
        "relay.py:1 psycopg", "relay.py:2 KafkaProducer", "relay.py:4 sqlite3",
        "relay.py:5 KafkaConsumer"]


# Small modules: none in services/ over MAX_MODULE_LINES lines, no class over
# MAX_CLASS_LINES (a module or class past them is doing two jobs).
MAX_MODULE_LINES, MAX_CLASS_LINES = 400, 250


def oversized(paths: Iterable[Path]) -> list[str]:
    """The modules and classes past the limits, with their sizes."""
    found = []
    for path in paths:
        text = path.read_text()
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{path.name}: {lines} lines")
        for node in ast.walk(ast.parse(text, str(path))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                size = node.end_lineno - node.lineno + 1
                if size > MAX_CLASS_LINES:
                    found.append(f"{path.name}: class {node.name}, {size} lines")
    return found


def test_no_module_or_class_in_services_is_too_big() -> None:
    assert oversized(sorted((ROOT / "services").rglob("*.py"))) == []


def test_a_module_or_class_too_big_is_found(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_CLASS_LINES))
    (tmp_path / "big.py").write_text(f"class Big:\n{body}\n" + "\n" * MAX_MODULE_LINES)
    (tmp_path / "small.py").write_text("class Small:\n    pass\n")
    assert oversized([tmp_path / "big.py", tmp_path / "small.py"]) == [
        f"big.py: {MAX_CLASS_LINES + 1 + MAX_MODULE_LINES} lines",
        f"big.py: class Big, {MAX_CLASS_LINES + 1} lines"]


# The checks themselves must be able to fail: small trees with the faults they look for.

def _tree(tmp_path: Path, files: Mapping[str, str]) -> dict[str, set[str]]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return import_graph({module_name(p, tmp_path): p for p in sorted(tmp_path.rglob("*.py"))})


def test_a_cycle_through_a_function_or_type_checking_import_is_found(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {
        "events/__init__.py": "",
        "events/case.py": "from typing import TYPE_CHECKING\n"
                          "if TYPE_CHECKING:\n    from events.step import Step\n",
        "events/step.py": "def f():\n    from events import case\n",
        "events/values.py": "from . import step\n",
    })
    assert graph["events.values"] == {"events.step"}
    assert cycles(graph) == [["events.case", "events.step"]]


def test_a_cycle_between_packages_is_found(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {
        "services/__init__.py": "", "services/api/__init__.py": "",
        "services/api/deps.py": "from services.node import Node\n",
        "services/api/auth.py": "",
        "services/node.py": "from services.api.auth import TokenVerifier\n",
    })
    assert cycles(graph) == []
    assert cycles(rooms(graph)) == [["services.api", "services.node"]]


def test_a_layer_pointing_outward_is_found(tmp_path: Path) -> None:
    graph = _tree(tmp_path, {
        "events/__init__.py": "", "events/case.py": "import projections.board\n",
        "projections/__init__.py": "", "projections/board.py": "",
        "projections/monitor.py": "from services.clock import Clock\n",
        "services/__init__.py": "", "services/clock.py": "from projections import board\n",
    })
    assert list(outward(graph)) == ["events.case imports projections.board",
                                    "projections.monitor imports services.clock"]


# The command line parses and calls the core: it reads its settings through `Settings`
# and builds no document itself.
CLI_BUILDS = {"services.anchors.narrative"}
EXPORT_BUILDERS = {"document", "signed_json", "signed_html", "Provenance"}


def environment_reads(path: Path) -> list[str]:
    """Where a module reads the process environment itself (`os.environ`, `os.getenv`)."""
    return [f"{path.name}:{node.lineno}" for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
            and node.value.id == "os" and node.attr in ("environ", "getenv")]


def test_the_command_line_reads_settings_only_through_settings() -> None:
    found = [read for path in sorted((ROOT / "services" / "cli").glob("*.py"))
             for read in environment_reads(path)]
    assert found == []


def test_the_command_line_builds_no_export(graph: dict[str, set[str]]) -> None:
    cli = {m: sorted(graph[m] & CLI_BUILDS) for m in graph if m.startswith("services.cli")}
    assert {m: t for m, t in cli.items() if t} == {}
    builders = [alias.name for path in sorted((ROOT / "services" / "cli").glob("*.py"))
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.ImportFrom) for alias in node.names
                if alias.name in EXPORT_BUILDERS]
    assert builders == []


def test_an_environment_read_is_found(tmp_path: Path) -> None:
    (tmp_path / "run.py").write_text("import os\nx = os.environ.get('HOMEWARD_X')\n")
    assert environment_reads(tmp_path / "run.py") == ["run.py:2"]


# -- the docs' tables, checked against the code and the tree ---------------------------

ARCHITECTURE = ROOT / "docs" / "architecture.md"
README = ROOT / "README.md"
TICKED = re.compile(r"`([^`]+)`")


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of each row of the Markdown table whose header row starts `header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    found = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        found.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return found


def import_table(text: str) -> dict[frozenset[str], set[str]]:
    """docs/architecture.md's "imports from `services`": each row's rooms (`api/`,
    `bootstrap.py`) and the rooms of `services` it says they import."""
    table = {}
    for where, _, imports in table_rows(text, "| where | job | imports from `services` |"):
        own = frozenset("services." + name.removesuffix("/").removesuffix(".py")
                        for name in TICKED.findall(where))
        table[own] = {"services." + name for name in TICKED.findall(imports)
                      if re.fullmatch(r"[a-z_]+", name)}
    return table


def table_errors(table: Mapping[frozenset[str], set[str]],
                 packages: Mapping[str, set[str]]) -> list[str]:
    """Where the import table and the code disagree, in words."""
    errors = []
    services = {r for r in packages if r.startswith("services.")}
    listed = set().union(*table) if table else set()
    errors += [f"{r} has no row" for r in sorted(services - listed)]
    for own, said in table.items():
        real = set().union(*(packages.get(r, set()) for r in own))
        real = {r for r in real if r.startswith("services.")} - own
        name = ", ".join(sorted(own))
        errors += [f"{name} imports {r}, not in its row" for r in sorted(real - said)]
        errors += [f"{name} does not import {r}, in its row" for r in sorted(said - real)]
    return errors


def test_the_architecture_import_table_is_the_code(graph: dict[str, set[str]]) -> None:
    assert table_errors(import_table(ARCHITECTURE.read_text()), rooms(graph)) == []


def test_a_wrong_import_table_is_found() -> None:
    text = ("| where | job | imports from `services` |\n|---|---|---|\n"
            "| `api/` | the API | `clock`, `signing` |\n"
            "| `clock.py`, `signing.py` | time, keys | — |\n")
    packages = {"services.api": {"services.clock", "services.readside"},
                "services.clock": set(), "services.signing": set(),
                "services.readside": set()}
    assert table_errors(import_table(text), packages) == [
        "services.readside has no row",
        "services.api imports services.readside, not in its row",
        "services.api does not import services.signing, in its row"]


def tracked_folders() -> set[str]:
    """The folders at the top of the tree, as git keeps them."""
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.splitlines()
    return {path.split("/")[0] for path in listed if "/" in path and not path.startswith(".")}


def layout_errors(text: str, top: set[str], tests: set[str], services: set[str],
                  routers: set[str]) -> list[str]:
    """What the README's layout table does not name: a top-level folder, a folder of
    tests/, a package of services/, a router."""
    rows = {cells[0]: cells[1] for cells in table_rows(text, "| folder | holds |")}
    named = {name for folder in rows for name in TICKED.findall(folder)}
    errors = [f"{d}/ has no row" for d in sorted(top)
              if not any(n == f"{d}/" or n.startswith(f"{d}/") for n in named)]
    errors += [f"services/{p}/ has no row" for p in sorted(services)
               if f"services/{p}/" not in named]
    tests_row = next((held for folder, held in rows.items() if "`tests/`" in folder), "")
    errors += [f"tests/{d}/ is not in the tests/ row" for d in sorted(tests)
               if f"`{d}/`" not in tests_row]
    api_row = next((held for folder, held in rows.items() if "`services/api/`" in folder), "")
    words = set(re.findall(r"[a-z]+", api_row.replace("-", "")))
    errors += [f"the router {r} is not in the services/api/ row" for r in sorted(routers)
               if r not in words]
    return errors


def test_the_readme_layout_table_names_every_folder() -> None:
    tests = {p.name for p in (ROOT / "tests").iterdir()
             if p.is_dir() and not p.name.startswith((".", "_"))}
    services = {p.parent.name for p in (ROOT / "services").glob("*/__init__.py")}
    routers = {p.stem for p in (ROOT / "services/api/routers").glob("*.py")} - {"__init__"}
    assert layout_errors(README.read_text(), tracked_folders(), tests, services, routers) == []


def test_a_folder_missing_from_the_layout_table_is_found() -> None:
    text = ("| folder | holds |\n|---|---|\n| `events/` | the domain |\n"
            "| `services/api/` | routers (cases) |\n| `tests/` | `unit/` |\n")
    assert layout_errors(text, {"events", "docs"}, {"unit", "fuzz"}, {"api", "cli"},
                         {"cases", "partner"}) == [
        "docs/ has no row", "services/cli/ has no row", "tests/fuzz/ is not in the tests/ row",
        "the router partner is not in the services/api/ row"]


API_TOP = 12


def crowded_top(folder: Path, most: int = API_TOP) -> list[str]:
    """The modules at the top of a package (its `__init__.py` counted), when there are
    more than `most` of them; subpackages (`http/`, `web/`, `identity/`, `routers/`) hold
    the rest."""
    modules = sorted(p.name for p in folder.glob("*.py"))
    return modules if len(modules) > most else []


def test_the_api_package_has_at_most_a_dozen_modules_at_its_top() -> None:
    assert crowded_top(ROOT / "services/api") == []


def test_a_crowded_api_package_is_found(tmp_path: Path) -> None:
    for name in ["__init__", *(f"m{i:02}" for i in range(API_TOP))]:
        (tmp_path / f"{name}.py").write_text("")
    (tmp_path / "http").mkdir()
    (tmp_path / "http" / "limits.py").write_text("")
    assert crowded_top(tmp_path) == ["__init__.py", *(f"m{i:02}.py" for i in range(API_TOP))]
    (tmp_path / "m00.py").unlink()
    assert crowded_top(tmp_path) == []
