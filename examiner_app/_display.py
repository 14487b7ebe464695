"""Whether the desktop app can open a window here, checked before Qt starts: without a display
Qt aborts the process with a message about platform plugins that does not say what to do."""
from __future__ import annotations

import ctypes.util
import os
import sys


def display_problem(environ=os.environ, platform: str = sys.platform,
                    find_library=ctypes.util.find_library) -> str | None:
    """A sentence saying why no window can open (and what to do), or None if one can."""
    if environ.get("QT_QPA_PLATFORM") or not platform.startswith("linux"):
        return None             # a platform chosen by the user; macOS and Windows have theirs
    if environ.get("WAYLAND_DISPLAY"):
        return None
    if not environ.get("DISPLAY"):
        return ("no graphical display here (DISPLAY and WAYLAND_DISPLAY are unset): open the "
                "desktop app in a desktop session, run it under a virtual one (xvfb-run "
                "patent-examiner), or use the command line (patent-examiner search, index, "
                "history)")
    if find_library("xcb-cursor") is None:
        return ("Qt's X11 support needs the libxcb-cursor library, which is not installed "
                "(Debian/Ubuntu: sudo apt install libxcb-cursor0; Fedora: sudo dnf install "
                "xcb-util-cursor)")
    return None
