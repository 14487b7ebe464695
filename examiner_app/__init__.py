"""The examiner desktop app (PySide6). All Qt code lives here; long work runs in workers.

``launch()`` opens the main window; ``patent-examiner gui`` (registered through the
``patent_examiner.commands`` entry point by ``examiner_app.cli``) calls it.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path


def launch(library: Path | None, query: Path | None = None, before: date | None = None, *,
           demo: bool = False, demo_patents: int | None = None,
           notice: str | None = None) -> int:
    """Run the GUI on ``library`` (None: the last or the default library), optionally with a
    query drawing loaded and searched with the filing-date cutoff ``before``; with ``demo``, on
    the demo library there, built in the window if needed; ``notice`` is printed once a window
    can open. Returns the exit status. Qt is
    imported only here, so importing the package stays cheap."""
    from .app import launch as _launch

    return _launch(library, query, before, demo=demo, demo_patents=demo_patents,
                   notice=notice)


__all__ = ["launch"]
