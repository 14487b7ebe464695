"""Whether the desktop app can open a window here, checked before Qt starts: without a display
Qt aborts the process with a message about platform plugins that does not say what to do."""
from __future__ import annotations

import ctypes.util
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

_NO_DISPLAY_USE = ("run it under a virtual one (xvfb-run patent-examiner), or use the command "
                   "line (patent-examiner demo --no-gui, search, index, history)")


def x_server_answers(display: str, timeout: float = 1.0) -> bool:
    """Whether an X server listens at ``display`` ("[host]:N[.screen]"): a local one on its
    socket (abstract or in /tmp/.X11-unix), a remote or forwarded one on TCP 6000 + N."""
    host, _, rest = display.rpartition(":")
    try:
        number = int(rest.split(".")[0])
    except ValueError:
        return True             # a form this check does not know: let Qt try
    if host.startswith("/"):
        return True             # a launchd socket path (macOS XQuartz)
    if host in ("", "unix"):
        targets = [(socket.AF_UNIX, f"\0/tmp/.X11-unix/X{number}"),
                   (socket.AF_UNIX, f"/tmp/.X11-unix/X{number}")]
    else:
        targets = [(socket.AF_INET, (host, 6000 + number))]
    for family, address in targets:
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(address)
                return True
        except OSError:
            continue
    return False


def missing_xcb_libraries() -> list[str]:
    """The system libraries Qt's X11 plugin needs and cannot find ("libxcb-icccm.so.4"), as
    ``ldd`` reports them for the plugin PySide6 ships; where that cannot be asked, whether
    libxcb-cursor (the one Qt 6.5 added) is there."""
    spec = importlib.util.find_spec("PySide6")
    plugin = next((Path(p) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
                   for p in (spec.submodule_search_locations or [])), None) if spec else None
    if plugin is not None and plugin.is_file() and shutil.which("ldd"):
        try:
            out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True,
                                 timeout=10).stdout
            return sorted(set(re.findall(r"^\s*(\S+) => not found", out, re.MULTILINE)))
        except (OSError, subprocess.SubprocessError):
            pass
    return [] if ctypes.util.find_library("xcb-cursor") else ["libxcb-cursor.so.0"]


def _debian_package(library: str) -> str:
    """libxcb-icccm.so.4 -> libxcb-icccm4, libxkbcommon-x11.so.0 -> libxkbcommon-x11-0."""
    name, _, version = library.partition(".so.")
    return name + ("-" if name[-1:].isdigit() else "") + version.split(".")[0]


def wayland_socket(environ) -> Path:
    """Where the compositor of ``WAYLAND_DISPLAY`` listens (a name under XDG_RUNTIME_DIR)."""
    name = environ["WAYLAND_DISPLAY"]
    runtime = environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return Path(name) if os.path.isabs(name) else Path(runtime) / name


def display_problem(environ=os.environ, platform: str = sys.platform,
                    missing=missing_xcb_libraries, answers=x_server_answers,
                    compositor_up=lambda environ: wayland_socket(environ).exists()
                    ) -> str | None:
    """A sentence saying why no window can open (and what to do), or None if one can."""
    if environ.get("QT_QPA_PLATFORM") or not platform.startswith("linux"):
        return None             # a platform chosen by the user; macOS and Windows have theirs
    if environ.get("WAYLAND_DISPLAY"):
        if compositor_up(environ):
            return None
        if not environ.get("DISPLAY"):  # (a terminal kept from a Wayland session that ended)
            return (f"no Wayland compositor answers at WAYLAND_DISPLAY="
                    f"{environ['WAYLAND_DISPLAY']} ({wayland_socket(environ)} is not there: "
                    f"the session that set it has ended): {_NO_DISPLAY_USE}")
    if not environ.get("DISPLAY"):
        return ("no graphical display here (DISPLAY and WAYLAND_DISPLAY are unset): open the "
                f"desktop app in a desktop session, {_NO_DISPLAY_USE}")
    if not answers(environ["DISPLAY"]):
        return (f"no X server answers at DISPLAY={environ['DISPLAY']} (it has stopped, or "
                f"the display was forwarded by a session that has ended): start it, "
                f"{_NO_DISPLAY_USE}")
    libraries = missing()
    if libraries:
        return (f"Qt's X11 support needs {', '.join(libraries)}, not installed here "
                f"(Debian/Ubuntu: sudo apt install "
                f"{' '.join(_debian_package(lib) for lib in libraries)}; Fedora/RHEL: sudo "
                f"dnf install {' '.join(repr(f'{lib}()(64bit)') for lib in libraries)}; other "
                "systems: the package that provides each)")
    return None
