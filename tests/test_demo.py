"""The built-in demo library and a new user's first run: synthetic patents go through the same
ingestion as real data, demo queries are ready (and are not in the library) and find their own
kind of object, a second run reuses the library, a user's library or folder is never written
over, and the bare command opens the window on the demo with a query searched."""
import json
import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from core import cli  # noqa: E402
from core.demo import DEMO_QUERIES, build_demo_library  # noqa: E402
from core.library import Library  # noqa: E402

N_PATENTS = 24


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo-library"
    assert cli.main(["demo", "--no-gui", "--library", str(path),
                     "--patents", str(N_PATENTS)]) == 0
    return path


def _queries(demo: Path) -> list[dict]:
    return [json.loads(x) for x in (demo / "queries" / "queries.jsonl").read_text().splitlines()]


def test_demo_library_is_synthetic_complete_and_ingested(demo):
    with Library(demo) as lib:
        info = lib.info()
        assert info["patents"] == N_PATENTS and info["figures"] > N_PATENTS
        assert lib.store.get_meta("demo")["complete"] is True
        ids = {r[0] for r in lib.store.conn.execute("SELECT patent_id FROM patents")}
        rows = lib.store.conn.execute("SELECT grant_date, locarno FROM patents").fetchall()
    assert all(i.startswith("SYN-") for i in ids)
    assert all(g and loc for g, loc in rows)           # dated and classified like real grants
    queries = _queries(demo)
    assert len(queries) == DEMO_QUERIES
    assert all((demo / "queries" / q["image"]).is_file() for q in queries)
    assert not ids & {q["patent_id"] for q in queries}   # new designs, not in the library


def test_demo_queries_find_their_own_kind(demo):
    from core.models import load_model
    from core.search import Searcher, SearchQuery

    with Library(demo) as lib:
        present = {r[0] for r in lib.store.conn.execute("SELECT locarno FROM patents")}
        searcher = Searcher(lib, load_model(lib.model_info["ref"]))
        judged = hits = 0
        for q in _queries(demo):
            response = searcher.search(SearchQuery(image=demo / "queries" / q["image"], k=30))
            assert response.results and all(h.patent_id.startswith("SYN-") and h.synthetic
                                            for h in response.results)    # (marked so)
            scores = [h.score for h in response.results]
            assert scores == sorted(scores, reverse=True)
            if q["locarno"] in present:
                judged += 1
                top = list(dict.fromkeys(h.patent_id for h in response.results))[:3]
                kinds = {h.patent_id: h.locarno for h in response.results}
                hits += any(kinds[p] == q["locarno"] for p in top)
    assert judged >= 2
    assert hits / judged >= 0.5, f"{hits} of {judged} demo queries found their kind in the top 3"


def test_second_run_reuses_the_demo_library(demo, capsys):
    db = demo / "library.sqlite"
    before = (db.stat().st_mtime_ns, sorted(p.name for p in (demo / "index").iterdir()))
    again = build_demo_library(demo, n_patents=N_PATENTS)
    assert again.path == demo and len(again.queries) == DEMO_QUERIES
    assert again.patents == N_PATENTS
    assert (db.stat().st_mtime_ns, sorted(p.name for p in (demo / "index").iterdir())) == before
    capsys.readouterr()
    # another size asked for: reused all the same, and said (it was silently ignored)
    assert cli.main(["demo", "--no-gui", "--library", str(demo), "--patents", "10"]) == 0
    assert f"note: the demo library at {demo} holds {N_PATENTS} patents from an earlier " \
        "build and is reused: --patents 10 applies to a new demo library" in \
        capsys.readouterr().err
    assert cli.main(["demo", "--no-gui", "--library", str(demo), "--patents",
                     str(N_PATENTS)]) == 0
    assert "note:" not in capsys.readouterr().err


def test_a_user_library_or_folder_is_never_overwritten(tmp_path, capsys):
    user = tmp_path / "mine"
    Library(user, create=True).close()
    snapshot = (user / "library.sqlite").read_bytes()
    assert cli.main(["demo", "--no-gui", "--library", str(user), "--patents", "2"]) != 0
    assert "not the demo library" in capsys.readouterr().err
    assert (user / "library.sqlite").read_bytes() == snapshot
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("keep me")
    assert cli.main(["demo", "--no-gui", "--library", str(folder), "--patents", "2"]) != 0
    assert sorted(p.name for p in folder.iterdir()) == ["todo.txt"]


def test_bare_command_opens_the_demo_the_first_time_then_the_users_library(
        demo, tmp_path, monkeypatch):
    import core.demo

    opened = []
    monkeypatch.setattr(cli, "_launch_gui", lambda lib, query=None, **kw: opened.append(
        (lib, query, kw)) or 0)
    monkeypatch.setattr(core.demo, "demo_library_path", lambda: demo)
    monkeypatch.setenv("PATENT_EXAMINER_LIBRARY", str(tmp_path / "user-library"))
    assert cli.main([]) == 0                    # the window opens the demo (building it)
    lib, query, kw = opened[-1]
    assert (lib, query, kw["demo"], kw["demo_patents"]) == (demo, None, True, None)
    assert kw["notice"].startswith("no library yet: opening the built-in demo library")
    assert not (tmp_path / "user-library").exists()
    Library(tmp_path / "user-library", create=True).close()
    assert cli.main([]) == 0
    assert opened[-1] == (tmp_path / "user-library", None, {})


def test_window_opens_on_the_demo_with_ranked_results(demo, qtbot, tmp_path):
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    from examiner_app.main_window import MainWindow
    from examiner_app.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    w.start(demo, demo / "queries" / _queries(demo)[0]["image"])
    qtbot.waitUntil(lambda: w.response is not None and not w.busy.isVisible(), timeout=60_000)
    assert w.model.rowCount() > 0
    assert all(h.patent_id.startswith("SYN-") for h in w.response.results)
    w.close()


def test_window_builds_the_demo_with_progress_cancel_and_resume(qtbot, tmp_path):
    """First run in the window: a progress dialog; Cancel stops the build with a message and
    leaves a resumable demo folder; the next start finishes it and searches a demo query."""
    pytest.importorskip("pytestqt")
    from PySide6.QtCore import QSettings

    from core.demo import check_demo_folder
    from examiner_app.main_window import MainWindow
    from examiner_app.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    path = tmp_path / "demo-library"
    w.start_demo(path, 6)
    task = w._demo_task
    notes: list[str] = []
    task.signals.progress.connect(lambda done, total, note: (notes.append(note), task.cancel()))
    qtbot.waitUntil(lambda: w._demo_task is None, timeout=120_000)
    assert notes and notes[0].startswith("Drawing")
    assert "not finished" in w.banner.text.text()
    assert check_demo_folder(path) is False         # unfinished, and a demo: resumable

    w.open_library(path)                            # opened as a library: says so
    qtbot.waitUntil(lambda: w.service.info is not None and not w.busy.isVisible(),
                    timeout=60_000)
    assert "demo library was not finished" in w.banner.text.text()
    opened = w.library_label.text()
    w.start_demo(tmp_path / "other-demo", 6)        # cancelled: the open library stays named
    w._demo_task.signals.progress.connect(lambda *a: w._demo_task and w._demo_task.cancel())
    qtbot.waitUntil(lambda: w._demo_task is None, timeout=120_000)
    assert w.library_label.text() == opened and opened.startswith("demo-library:")

    w.start_demo(path, 6)
    qtbot.waitUntil(lambda: w.response is not None and not w.busy.isVisible(), timeout=180_000)
    assert check_demo_folder(path) is True
    assert "demo library" in w.banner.text.text() and w.banner.isVisible()
    assert w.model.rowCount() > 0
    assert all(h.patent_id.startswith("SYN-") for h in w.response.results)
    with Library(path) as lib:
        assert lib.info()["patents"] == 6
    w.close()


def test_the_bare_command_shows_demo_results_through_the_gui_entry_point(
        demo, qtbot, tmp_path, monkeypatch):
    """The README's run command end to end: `patent-examiner` with no library goes through the
    installed GUI entry point to a window showing ranked demo results. Only the event loop is
    replaced, by one that waits for those results and closes the window."""
    pytest.importorskip("pytestqt")
    import core.demo
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from examiner_app.main_window import MainWindow

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    monkeypatch.setattr(core.demo, "demo_library_path", lambda: demo)
    monkeypatch.setenv("PATENT_EXAMINER_LIBRARY", str(tmp_path / "no-library-yet"))
    shown = []

    def run_until_results(*_):
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible()]
        assert len(windows) == 1
        w = windows[0]
        qtbot.waitUntil(lambda: w.response is not None and not w.busy.isVisible(),
                        timeout=60_000)
        shown.append((w.response, w.model.rowCount()))
        w.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", run_until_results)
    assert cli.main([]) == 0
    response, rows = shown[0]
    assert rows > 0 and response.results
    assert all(h.patent_id.startswith("SYN-") for h in response.results)


def test_ctrl_c_in_the_terminal_quits_the_app_while_it_builds_the_demo(tmp_path):
    """Ctrl+C in the terminal that started the window cancels the demo build and quits with
    the interrupted status (130); it used to print a KeyboardInterrupt traceback from a Qt
    timer and leave the window running."""
    import signal
    import subprocess
    import sys
    import threading
    import time

    env = {**os.environ, "HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen",
           "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config")}
    script = ("import sys; from pathlib import Path; from examiner_app.app import launch; "
              "sys.exit(launch(Path(sys.argv[1]), demo=True, demo_patents=60, "
              "notice='window starting'))")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "demo")], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    said: list[str] = []
    reader = threading.Thread(target=lambda: said.extend(proc.stderr), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("window starting" in line for line in said):
            assert proc.poll() is None and time.monotonic() < deadline, "".join(said)
            time.sleep(0.2)
        time.sleep(4)                           # the window shown, the build under way
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=90) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(timeout=10)
    assert "Traceback" not in "".join(said) and "KeyboardInterrupt" not in "".join(said)


def test_adding_drawings_to_the_demo_asks_and_goes_to_the_users_own_library(
        demo, qtbot, tmp_path, monkeypatch, shared_data):
    """Manage library on the demo: the drawings an examiner adds go to their own library (the
    question's default), not among the synthetic patents; the demo is unchanged."""
    pytest.importorskip("pytestqt")
    import shutil

    from PySide6.QtCore import QSettings, QTimer

    from conftest import write_subset_manifest
    from examiner_app.main_window import MainWindow
    from examiner_app.settings import Settings

    copy = tmp_path / "demo-library"
    shutil.copytree(demo, copy, ignore=shutil.ignore_patterns("library.lock"))
    own = tmp_path / "own"
    monkeypatch.setenv("PATENT_EXAMINER_LIBRARY", str(own))
    manifest = write_subset_manifest(shared_data, tmp_path / "mine.jsonl", ["D0906013"])
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    w = MainWindow(settings)
    qtbot.addWidget(w)
    w.show()
    w.service.workers = 0
    w.start(copy)
    qtbot.waitUntil(lambda: w.service.info is not None, timeout=60_000)
    w.show_library_dialog()
    dialog = w._library_dialog
    qtbot.waitUntil(lambda: bool((dialog._info or {}).get("demo")), timeout=60_000)
    asked = []

    def answer():
        box = dialog.confirm_box
        asked.append(box.text())
        next(b for b in box.buttons() if b.text() == "Add to my own library").click()
    QTimer.singleShot(0, answer)
    dialog.allow_absolute.setChecked(True)
    try:
        dialog.start_ingest([str(manifest)])
        assert asked == ["This is the demo library of synthetic patents."]
        qtbot.waitUntil(lambda: dialog.task is None and w.service.path == own and
                        (w.service.info or {}).get("patents") == 1, timeout=120_000)
    finally:
        dialog.cancel()
    with Library(copy) as lib:
        assert lib.info()["patents"] == N_PATENTS
    with Library(own) as lib:
        assert [p for p, in lib.store.conn.execute("SELECT patent_id FROM patents")] == \
            ["D0906013"]
    dialog.close()
    w.close()


def test_a_demo_built_in_python_with_a_model_records_that_model(tmp_path):
    """A demo library built from Python with a model of the caller's recorded "default", so
    it could not be searched afterwards (and `index rebuild` would have changed its model)."""
    from core.models import create_model

    demo = build_demo_library(tmp_path / "demo", n_patents=3, workers=1,
                              model=create_model("tiny_test", pretrained=None))
    with Library(demo.path) as lib:
        assert lib.model_info["ref"] == "tiny_test:random"
        assert lib.load_model().model_id == lib.model_id
