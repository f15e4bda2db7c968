"""The package's shape, read from the source with ``ast``: no import loops, short modules,
short functions, and no function-local imports of our own modules that hide a loop.

The import graph takes every import of a ``widget_server`` module, at the top of a module
or inside a function, relative ones resolved. Importing ``pkg.mod`` also imports the
package ``pkg`` (its ``__init__`` runs first), except for the importer's own packages,
which are already being imported when it runs.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "widget_server"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Generated or data-like: schema migrations and translation catalogs.
EXEMPT_PARTS = {"migrations", "translations"}
# Functions that may stay longer than MAX_FUNCTION_LINES: "module:qualified.name" -> why.
LONG_FUNCTIONS_ALLOWED: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    """One import of one of our modules: where it is, and what it brings in."""

    importer: str
    target: str
    line: int
    function: str | None  # the enclosing function's qualified name, None at module level
    names: tuple[str, ...]  # the names it binds in the importer


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_package(root: Path = ROOT) -> dict[str, tuple[Path, str]]:
    """Every module of the package: name -> (path, source)."""
    return {
        module_name(path, root): (path, path.read_text("utf-8"))
        for path in sorted(root.rglob("*.py"))
    }


def is_package(name: str, modules: dict) -> bool:
    path = modules[name][0]
    return path.name == "__init__.py"


def _resolve(node: ast.ImportFrom, importer: str, modules: dict) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    if not is_package(importer, modules):
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(node: ast.AST, importer: str, modules: dict) -> list[tuple[str, tuple[str, ...]]]:
    """The modules of ours an import statement imports, each with the names it binds."""
    found: list[tuple[str, tuple[str, ...]]] = []
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name in modules:
                found.append((alias.name, (alias.asname or alias.name.split(".")[0],)))
        return found
    base = _resolve(node, importer, modules)
    if base not in modules:
        return found
    plain = []
    for alias in node.names:
        bound = alias.asname or alias.name
        if f"{base}.{alias.name}" in modules:  # ``from . import x``: the submodule x
            found.append((f"{base}.{alias.name}", (bound,)))
        else:
            plain.append(bound)
    if plain:
        found.append((base, tuple(plain)))
    return found


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, importer: str, modules: dict):
        self.importer, self.modules = importer, modules
        self.scope: list[str] = []
        self.functions: list[str] = []
        self.imports: list[Import] = []

    def _visit_scope(self, node, is_function: bool):
        self.scope.append(node.name)
        if is_function:
            self.functions.append(".".join(self.scope))
        self.generic_visit(node)
        if is_function:
            self.functions.pop()
        self.scope.pop()

    def visit_FunctionDef(self, node):
        self._visit_scope(node, True)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self._visit_scope(node, False)

    def visit_If(self, node):
        # ``if TYPE_CHECKING:`` imports never run, so they make no loop.
        test = node.test
        if getattr(test, "id", None) == "TYPE_CHECKING" or getattr(test, "attr", None) == (
            "TYPE_CHECKING"
        ):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node):
        function = self.functions[-1] if self.functions else None
        for target, names in _targets(node, self.importer, self.modules):
            self.imports.append(Import(self.importer, target, node.lineno, function, names))

    visit_ImportFrom = visit_Import


def collect_imports(modules: dict) -> list[Import]:
    found: list[Import] = []
    for name, (_path, source) in modules.items():
        collector = _ImportCollector(name, modules)
        collector.visit(ast.parse(source))
        found.extend(collector.imports)
    return found


def _packages_of(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def import_graph(modules: dict, imports: list[Import]) -> dict[str, dict[str, int]]:
    """importer -> {imported module: line of the first such import}."""
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for imp in imports:
        # The packages around the target run first, but the importer's own are running already.
        own = set(_packages_of(imp.importer))
        implied = [p for p in _packages_of(imp.target) if p in modules and p not in own]
        for target in [*implied, imp.target]:
            if target != imp.importer:
                graph[imp.importer].setdefault(target, imp.line)
    return graph


def import_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Every strongly connected group of modules, as one cycle through it (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_one_cycle(graph, group) for group in groups]


def _one_cycle(graph: dict[str, dict[str, int]], group: list[str]) -> list[str]:
    """A path from the group's first module back to itself, within the group."""
    start, members = group[0], set(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node]):
            if nxt == start:
                return paths[node] + [start]
            if nxt in members and nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    return group


def loop_members(graph: dict[str, dict[str, int]], cycle: list[str]) -> list[str]:
    """Every module on some cycle with the cycle's first one: reachable from it and back."""

    def reachable(start: str, edges) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in edges(todo.pop()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def backwards(node: str) -> list[str]:
        return [a for a, targets in graph.items() if node in targets]

    return sorted(reachable(cycle[0], graph.__getitem__) & reachable(cycle[0], backwards))


def describe_cycle(graph: dict[str, dict[str, int]], cycle: list[str]) -> str:
    steps = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in zip(cycle, cycle[1:], strict=False)]
    return "\n    ".join(steps)


def exempt(name: str) -> bool:
    return bool(EXEMPT_PARTS & set(name.split(".")))


def long_modules(modules: dict) -> list[str]:
    return [
        f"{name}: {len(source.splitlines())} lines"
        for name, (_path, source) in modules.items()
        if not exempt(name) and len(source.splitlines()) > MAX_MODULE_LINES
    ]


def _functions(tree: ast.AST, prefix: str = ""):
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            qualified = f"{prefix}{node.name}"
            if not isinstance(node, ast.ClassDef):
                yield qualified, node
            yield from _functions(node, qualified + ".")


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the function's last line."""
    body = node.body
    first = body[0]
    if len(body) > 1 and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        body = body[1:] if isinstance(first.value.value, str) else body
    return node.end_lineno - body[0].lineno + 1


def long_functions(modules: dict) -> list[str]:
    found = []
    for name, (_path, source) in modules.items():
        if exempt(name):
            continue
        for qualified, node in _functions(ast.parse(source)):
            lines = body_lines(node)
            key = f"{name}:{qualified}"
            if lines > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS_ALLOWED:
                found.append(f"{key} (line {node.lineno}): {lines} body lines")
    return found


def _comment_lines(source: str) -> dict[int, bool]:
    """Line -> True for a line that is only a comment, False for code with a trailing one."""
    lines: dict[int, bool] = {}
    code_lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            lines[token.start[0]] = True
        elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            code_lines.update(range(token.start[0], token.end[0] + 1))
    return {line: line not in code_lines for line in lines}


def _root_names(node: ast.AST) -> set[str]:
    """``x`` of every ``x``, ``x.bp`` or ``x.y.bp`` in an expression."""
    names = set()
    for part in ast.walk(node):
        while isinstance(part, ast.Attribute):
            part = part.value
        if isinstance(part, ast.Name):
            names.add(part.id)
    return names


def _registers_blueprint(node: ast.AST) -> list[ast.Call]:
    return [
        call
        for call in ast.walk(node)
        if isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "register_blueprint"
    ]


def _blueprint_names(source: str) -> set[str]:
    """The names create_app hands to ``register_blueprint``, directly or through a loop."""
    names: set[str] = set()
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef) or func.name != "create_app":
            continue
        for call in _registers_blueprint(func):
            for arg in call.args[:1]:
                names |= _root_names(arg)
        for loop in ast.walk(func):
            if isinstance(loop, ast.For) and _registers_blueprint(loop):
                names |= _root_names(loop.iter)
    return names


def unexplained_local_imports(modules: dict, imports: list[Import]) -> list[str]:
    found = []
    for imp in imports:
        if imp.function is None:
            continue
        source = modules[imp.importer][1]
        comments = _comment_lines(source)
        if imp.line in comments or comments.get(imp.line - 1) is True:
            continue  # the comment says why it is here
        factory = imp.importer == PACKAGE and imp.function == "create_app"
        if factory and set(imp.names) <= _blueprint_names(source):
            continue  # the factory imports the blueprints it registers
        found.append(f"{imp.importer}:{imp.function} (line {imp.line}) imports {imp.target}")
    return found


# -- the package itself ----------------------------------------------------------------------
MODULES = read_package()
IMPORTS = collect_imports(MODULES)


def test_the_package_has_no_import_cycle():
    graph = import_graph(MODULES, IMPORTS)
    cycles = import_cycles(graph)
    described = "\n".join(
        f"  {len(loop_members(graph, c))} modules in a loop: {', '.join(loop_members(graph, c))}"
        f"\n  one cycle through them:\n    {describe_cycle(graph, c)}"
        for c in cycles
    )
    assert not cycles, f"{len(cycles)} import loop(s):\n{described}"


def test_no_module_is_over_400_lines():
    assert len(MODULES) > 10, "the package's modules were not found"
    found = long_modules(MODULES)
    assert not found, f"{len(found)} module(s) over {MAX_MODULE_LINES} lines:\n" + "\n".join(found)


def test_no_function_is_over_60_lines():
    found = long_functions(MODULES)
    assert not found, f"{len(found)} function(s) too long:\n" + "\n".join(found)


def test_no_function_imports_our_own_modules_without_saying_why():
    found = unexplained_local_imports(MODULES, IMPORTS)
    described = "\n".join(found)
    assert not found, (
        f"{len(found)} function-local import(s) with no comment saying why:\n{described}"
    )


def test_every_allowed_long_function_still_exists_and_says_why():
    defined = {
        f"{name}:{qualified}"
        for name, (_path, source) in MODULES.items()
        for qualified, _node in _functions(ast.parse(source))
    }
    for key, reason in LONG_FUNCTIONS_ALLOWED.items():
        assert key in defined, f"{key} is allowed to be long but no longer exists"
        assert reason.strip(), f"{key} is allowed to be long without a reason"


# -- the checks find what they look for -----------------------------------------------------
def fake_package(tmp_path: Path, files: dict[str, str]) -> dict[str, tuple[Path, str]]:
    root = tmp_path / PACKAGE
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return read_package(root)


def test_a_loop_through_a_package_init_is_found_and_printed(tmp_path):
    modules = fake_package(
        tmp_path,
        {
            "__init__.py": "",
            "models.py": "def f():\n    from .admin import views\n",
            "admin/__init__.py": "from . import views\n",
            "admin/views.py": "from ..notify import mail\nfrom .. import typed\n",
            "notify/__init__.py": "",
            "notify/mail.py": "import widget_server.models\n",
            "typed.py": "if TYPE_CHECKING:\n    from .admin import views\n",
        },
    )
    graph = import_graph(modules, collect_imports(modules))
    cycles = import_cycles(graph)
    assert len(cycles) == 1, cycles
    assert set(cycles[0]) == {
        "widget_server.admin",
        "widget_server.admin.views",
        "widget_server.models",
        "widget_server.notify.mail",
    }
    text = describe_cycle(graph, cycles[0])
    assert "widget_server.models (line 2) -> widget_server.admin" in text


def test_a_module_importing_its_own_package_parts_makes_no_loop(tmp_path):
    modules = fake_package(
        tmp_path,
        {
            "__init__.py": "def create_app():\n    from .admin import views\n",
            "extensions.py": "",
            "admin/__init__.py": "",
            "admin/views.py": "from .. import extensions\nfrom . import forms\n",
            "admin/forms.py": "from widget_server.extensions import x\n",
        },
    )
    assert import_cycles(import_graph(modules, collect_imports(modules))) == []


def test_long_modules_and_long_functions_are_named(tmp_path):
    long_body = "".join(f"    x{i} = {i}\n" for i in range(61))
    modules = fake_package(
        tmp_path,
        {
            "__init__.py": "",
            "big.py": "x = 1\n" * 401,
            "slow.py": f'def work():\n    """Doc."""\n{long_body}\ndef fine():\n    pass\n',
            "migrations/versions/0001.py": "x = 1\n" * 500,
        },
    )
    assert long_modules(modules) == ["widget_server.big: 401 lines"]
    assert long_functions(modules) == ["widget_server.slow:work (line 1): 61 body lines"]


def test_only_explained_local_imports_and_the_factorys_blueprints_pass(tmp_path):
    modules = fake_package(
        tmp_path,
        {
            "__init__.py": (
                "def create_app(app):\n"
                "    from .admin import bp\n"
                "    from . import models\n"
                "    app.register_blueprint(bp)\n"
            ),
            "models.py": "",
            "admin/__init__.py": "bp = None\n",
            "jobs.py": (
                "def run():\n"
                "    # start-up time: models pulls SQLAlchemy in\n"
                "    from . import models\n"
                "    from .admin import bp  # the admin is optional\n"
                "    from . import models as again\n"
                "    import json\n"
            ),
        },
    )
    found = unexplained_local_imports(modules, collect_imports(modules))
    assert found == [
        "widget_server:create_app (line 3) imports widget_server.models",
        "widget_server.jobs:run (line 5) imports widget_server.models",
    ]
