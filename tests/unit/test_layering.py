"""The exhaustive layers contract (tests/layering.py) fails a module placed in no layer and an
import that climbs up, and keeps a tree that follows its layers (lint-imports on a small tree)."""

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONFIG = """
[tool.importlinter]
root_packages = ["app"]
contract_types = ["exhaustive_layers: tests.layering.ExhaustiveLayersContract"]

[[tool.importlinter.contracts]]
name = "layers"
type = "exhaustive_layers"
exhaustive = true
layers = ["app.ui", "app.core", "app.model"]
"""


def _lint(tmp_path, modules: dict[str, str]) -> subprocess.CompletedProcess:
    for path, text in {"app/__init__.py": "", **modules}.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(textwrap.dedent(text))
    (tmp_path / "pyproject.toml").write_text(CONFIG)
    lint = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    environment = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    return subprocess.run([lint], cwd=tmp_path, env=environment, capture_output=True, text=True)


LAYERED = {"app/model.py": "", "app/core.py": "import app.model\n", "app/ui.py": "import app.core\n"}


def test_a_tree_that_follows_its_layers_is_kept(tmp_path):
    found = _lint(tmp_path, LAYERED)
    assert found.returncode == 0, found.stdout + found.stderr


def test_a_module_in_no_layer_breaks_the_contract(tmp_path):
    found = _lint(tmp_path, {**LAYERED, "app/stray.py": "x = 1\n"})
    assert found.returncode == 1 and "- app.stray" in found.stdout, found.stdout


def test_an_import_that_climbs_up_breaks_the_contract(tmp_path):
    found = _lint(tmp_path, {**LAYERED, "app/model.py": "import app.ui\n"})
    assert found.returncode == 1 and "app.model is not allowed to import app.ui" in found.stdout, found.stdout
