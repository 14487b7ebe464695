"""Layering contracts (import-linter, configured in pyproject.toml): the core never imports Qt,
the GUI never imports torch, hnswlib or SQLite directly."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.skip("import-linter is not installed")
    proc = subprocess.run([exe, "--config", str(REPO / "pyproject.toml")], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 2 kept, 0 broken" in proc.stdout


def test_qt_properties_are_set_by_their_setters_not_as_constructor_keywords():
    """`QTimer(self, interval=0)` stopped the window from starting in a Turkish locale:
    PySide finds a keyword's property through the locale, where "interval" has no match
    (dotted and dotless i). Only ``parent`` is passed by name to a Qt class."""
    import ast

    found = []
    for path in sorted((REPO / "examiner_app").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", "")
            if name.startswith("Q") and name[1:2].isupper():
                found += [f"{path.name}:{node.lineno} {name}({k.arg}=...)"
                          for k in node.keywords if k.arg not in ("parent", None)]
    assert not found, found


def test_core_does_not_load_torch_on_import():
    """Worker processes import core modules to decode pages; they must stay light."""
    code = ("import sys, core.embed, core.drawing, core.imageio, core.sources; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_the_public_api_is_re_exported_lazily():
    """`import core` loads no torch; every name in core.__all__ is the defining module's."""
    code = ("import sys, core; light = 'torch' not in sys.modules; "
            "import importlib; "
            "ok = all(getattr(core, n) is getattr(importlib.import_module("
            "'core.' + core._PUBLIC[n]), n) for n in core._PUBLIC); "
            "print(light, ok, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "True"]


@pytest.mark.realdata
def test_the_readmes_python_example_runs(shared_data, tmp_path):
    """The README's "From Python" example, as written (its paths pointed at the data here)."""
    text = (REPO / "README.md").read_text()
    block = text.split("### From Python", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "example.py"       # (a file: worker processes import it again)
    script.write_text(block.replace("../shared/data", str(shared_data)).replace(
        '"my-library"', repr(str(tmp_path / "my-library"))))
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert len(lines) == 5 and lines[0].split()[:2] == ["1", "D0908315"]
    assert all(line.split()[2] < "2021-06-01" for line in lines)
