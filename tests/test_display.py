"""Opening the desktop app where no window can open: a clear message, not Qt's abort."""
import os
import subprocess
import sys

import pytest

from examiner_app._display import display_problem


def test_display_problem_names_the_missing_display_or_library():
    found = {"xcb-cursor": "libxcb-cursor.so.0"}.get
    assert "DISPLAY and WAYLAND_DISPLAY are unset" in display_problem({}, "linux", found)
    assert display_problem({"DISPLAY": ":0"}, "linux", found) is None
    assert "apt install libxcb-cursor0" in display_problem({"DISPLAY": ":0"}, "linux",
                                                           lambda name: None)
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", lambda name: None) is None
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", found) is None
    assert display_problem({}, "darwin", found) is None and \
        display_problem({}, "win32", found) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland are Linux's")
def test_the_app_without_a_display_says_so_and_exits(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "core.cli", "gui", "--library",
                           str(tmp_path / "lib")], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "patent-examiner: error: no graphical display here")
    assert not (tmp_path / "lib").exists()
