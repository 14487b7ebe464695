"""Opening the desktop app where no window can open: a clear message, not Qt's abort."""
import os
import shutil
import subprocess
import sys

import pytest

from examiner_app._display import display_problem


def test_display_problem_names_the_missing_display_or_library():
    found = lambda: []  # noqa: E731
    up = lambda display: True  # noqa: E731
    assert "DISPLAY and WAYLAND_DISPLAY are unset" in display_problem({}, "linux", found)
    assert "demo --no-gui" in display_problem({}, "linux", found)
    assert display_problem({"DISPLAY": ":0"}, "linux", found, up) is None
    told = display_problem({"DISPLAY": ":0"}, "linux",
                           lambda: ["libxcb-icccm.so.4", "libxkbcommon-x11.so.0"], up)
    assert "needs libxcb-icccm.so.4, libxkbcommon-x11.so.0" in told
    assert "apt install libxcb-icccm4 libxkbcommon-x11-0" in told
    # (dnf finds a package by the library it provides: each one named, not one example)
    assert ("dnf install 'libxcb-icccm.so.4()(64bit)' 'libxkbcommon-x11.so.0()(64bit)'"
            in told)
    assert display_problem({"DISPLAY": ":99"}, "linux", found, lambda d: False).startswith(
        "no X server answers at DISPLAY=:99")
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}, "linux", lambda: ["x"],
                           compositor_up=lambda env: True) is None
    gone = {"WAYLAND_DISPLAY": "wayland-9", "XDG_RUNTIME_DIR": "/nonexistent/run"}
    assert display_problem(gone, "linux", found).startswith(    # (Qt aborted, exit 134)
        "no Wayland compositor answers at WAYLAND_DISPLAY=wayland-9 (/nonexistent/run/"
        "wayland-9 is not there")
    assert display_problem({**gone, "DISPLAY": ":0"}, "linux", found, up) is None  # X then
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, "linux", found) is None
    assert display_problem({}, "darwin", found) is None and \
        display_problem({}, "win32", found) is None


@pytest.mark.skipif(not sys.platform.startswith("linux") or not shutil.which("ldd"),
                    reason="ldd and Qt's X11 plugin are Linux's")
def test_the_libraries_missing_for_qts_x11_plugin_are_asked_of_the_plugin(monkeypatch):
    """What is missing is what the dynamic linker says the plugin PySide6 ships lacks, not
    a guess from one library name (libxcb-cursor0 installed, libxcb-icccm4 missing, made
    Qt abort after this check had passed)."""
    from examiner_app import _display

    asked = []

    def ldd(args, **kw):
        asked.append(args)
        return subprocess.CompletedProcess(args, 0, out, "")
    out = "\tlibxcb-icccm.so.4 => not found\n\tlibc.so.6 => /lib/libc.so.6 (0x1)\n"
    monkeypatch.setattr(_display.subprocess, "run", ldd)
    assert _display.missing_xcb_libraries() == ["libxcb-icccm.so.4"]
    assert asked[0][0] == "ldd" and asked[0][1].endswith("platforms/libqxcb.so")


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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland are Linux's")
def test_the_first_run_without_a_display_does_not_promise_a_demo(tmp_path):
    """The bare command on a machine without a library would open the demo: without a display
    it says only why no window opens, and builds nothing."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PATENT_EXAMINER_LIBRARY"] = str(tmp_path / "lib")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "core.cli"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 1
    assert "no graphical display here" in proc.stderr
    assert "opening" not in proc.stderr and "demo library" not in proc.stderr
    assert not (tmp_path / "lib").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract sockets are Linux's")
def test_an_x_server_is_found_on_its_socket_and_a_stopped_one_is_told():
    import socket

    from examiner_app._display import x_server_answers

    free = next(n for n in range(900, 999)
                if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not x_server_answers(f":{n}"))
    assert not x_server_answers(f":{free}.0")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(f"\0/tmp/.X11-unix/X{free}")       # an X server's abstract socket
        server.listen(1)
        assert x_server_answers(f":{free}") and x_server_answers(f"unix:{free}.0")
    assert x_server_answers("odd-form")                  # not known: Qt decides
