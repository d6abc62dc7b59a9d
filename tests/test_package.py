"""The package itself: one version for setup.py and tfadv, and an import graph without cycles."""

import ast
import pathlib
import re
import subprocess
import sys

import tfadv

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_setup_reads_the_version_of_tfadv_without_importing_it():
    text = (ROOT / "tfadv" / "_version.py").read_text(encoding="utf-8")
    assert re.search(r'^__version__ = "([^"]+)"$', text, re.MULTILINE).group(1) == tfadv.__version__
    # `python setup.py --version` runs setup.py alone: it must not import tfadv (or TensorFlow).
    probe = (
        "import runpy, sys; sys.argv = ['setup.py', '--version']; "
        "runpy.run_path('setup.py', run_name='__main__'); "
        "assert 'tfadv' not in sys.modules and 'tensorflow' not in sys.modules"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == tfadv.__version__


def _import_graph():
    """Module -> the tfadv modules it imports (at module level or inside functions)."""
    files = {}
    for path in (ROOT / "tfadv").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def resolve(name):
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for module, path in files.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                target = resolve(name) if name.startswith("tfadv") else ""
                # A package importing its own parent (`from tfadv import x`) is not a cycle.
                if target and target != module and not module.startswith(target + "."):
                    targets.add(target)
        graph[module] = targets
    return graph


def _cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_tfadv_modules_do_not_import_each_other_in_a_circle():
    graph = _import_graph()
    assert "tfadv.deployable" in graph and "tfadv.layers.dual_bn_conversion" in graph
    assert _cycles(graph) == []


# Run as a script named `tfadv`, like the console script: `import tfadv` must not redirect file
# descriptor 2 (the probe compares it when TensorFlow loads) and must register tfadv's Keras
# classes (a saved method loads with `keras.saving.load_model` after `import tfadv` alone).
_IMPORT_PROBE = """
import os, sys
sys.path.insert(0, {root!r})
before = os.fstat(2)

class Probe:
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow":
            now = os.fstat(2)
            same = (now.st_dev, now.st_ino) == (before.st_dev, before.st_ino)
            print("fd 2 when TensorFlow loads:", "untouched" if same else "redirected")
        return None

sys.meta_path.insert(0, Probe())
import tfadv
import keras
print("after import tfadv:", sorted(m for m in sys.modules if "_quiet" in m or "tfadv_cli" in m))
print("TRADES registered:", keras.saving.get_registered_object("tfadv>TRADES") is not None)
"""


def test_import_tfadv_has_no_side_effect(tmp_path):
    assert not (ROOT / "tfadv" / "_quiet.py").exists()
    tree = ast.parse((ROOT / "tfadv" / "__init__.py").read_text(encoding="utf-8"))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ]
    assert [name for name in imported if "._" in name or "_" in name.split(".")[0]] == [
        "tfadv._version"
    ]
    script = tmp_path / "tfadv"
    script.write_text(_IMPORT_PROBE.format(root=str(ROOT)), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.splitlines() == [
        "fd 2 when TensorFlow loads: untouched",
        "after import tfadv: []",
        "TRADES registered: True",
    ]
    assert tfadv.__version__ and "attacks" in dir(tfadv)


def test_no_module_of_the_package_imports_the_package_root():
    offenders = []
    for path in sorted((ROOT / "tfadv").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(a.name == "tfadv" for a in node.names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


def test_imports_inside_functions_are_optional_or_say_why():
    """Imports sit at the top of a module; one inside a function (an optional or heavy dependency,
    a cycle) carries a comment saying why, on its line or the line above."""
    offenders = []
    for path in sorted([*(ROOT / "tfadv").rglob("*.py"), ROOT / "tfadv_cli.py"]):
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            imports = [
                node.lineno
                for node in ast.walk(function)
                if isinstance(node, (ast.Import, ast.ImportFrom))
            ]
            if imports:  # the first import of the function says why (the others follow it)
                first = min(imports)
                here, above = lines[first - 1], lines[first - 2]
                if "#" not in here and not above.strip().startswith(("#", "try:  #")):
                    offenders.append(f"{path.relative_to(ROOT)}:{first}")
    assert offenders == []
