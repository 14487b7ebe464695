"""Render docs/images/main_window.png: the examiner window, offscreen, searching a real Red Book
sheet (two figures) against a library of the real development patents with the default model.

    patent-examiner index add ../shared/data/real_dev/manifest.jsonl --library /tmp/real
    python docs/images/make_main_window.py --library /tmp/real
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parents[2]
QUERY = REPO.parent / "shared/data/uspto_redbook/USD0919445-20210518/USD0919445-20210518-D00001.TIF"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--library", type=Path, required=True)
    ap.add_argument("--query", type=Path, default=QUERY)
    ap.add_argument("--before", default="2020-06-01")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("main_window.png"))
    args = ap.parse_args()

    from PySide6.QtCore import QSettings

    from examiner_app.app import application
    from examiner_app.main_window import MainWindow
    from examiner_app.settings import Settings

    app = application()
    ini = Path(tempfile.mkdtemp()) / "settings.ini"
    settings = Settings(QSettings(str(ini), QSettings.Format.IniFormat))
    settings.examiner, settings.session = "Examiner", "screenshot"
    settings.group_by_patent = True
    window = MainWindow(settings)
    window.resize(1400, 880)
    window.show()
    window.start(args.library, args.query, date.fromisoformat(args.before))

    def settle(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.02)

    deadline = time.monotonic() + 120
    while window.response is None or window.busy.isVisible():
        if time.monotonic() > deadline:
            print("no search results within 120 s", file=sys.stderr)
            return 1
        settle(0.1)
    settle(3.0)         # thumbnails load off the UI thread
    window.grab().save(str(args.out))
    print(f"{args.out}: {len(window.response.results)} results, model {window.response.model_id}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
