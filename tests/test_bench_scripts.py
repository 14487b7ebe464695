"""The benchmark scripts' command lines: --help describes the script in whole sentences, and a
bad argument is a one-line usage error (exit 2) before any work starts, never a traceback."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (REPO / "bench").glob("*.py")
                 if not p.name.startswith("_") and "def main(" in p.read_text())


def _run(script: str, *args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "bench" / script), *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)


def test_scripts_found():
    assert len(SCRIPTS) >= 10, SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_help_describes_the_script_in_whole_sentences(script):
    proc = _run(script.name, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    # argparse prints: usage (one or more lines), a blank line, the description, a blank line
    description = " ".join(proc.stdout.split("\n\n")[1].split())
    assert description.endswith((".", ":")), description
    doc = ast.get_docstring(ast.parse(script.read_text()))
    assert description == " ".join(doc.split("\n\n")[0].split())


def _empty(tmp_path: Path, name: str = "empty") -> Path:
    (tmp_path / name).mkdir()
    return tmp_path / name


# (script, arguments, what the message names); {tmp}: an empty folder, so that a check that
# regressed would find nothing to work on instead of starting a long run
BAD = [
    ("bench_ingest.py", ["--data", "{tmp}/nonexist", "--pages", "2", "--sample", "2"],
     "real_dev/manifest.jsonl"),
    ("bench_ingest.py", ["--data", "{tmp}", "--pages", "0"], "--pages"),
    ("bench_drawing.py", ["--data", "{tmp}/uspto_redbook", "--limit", "2"], "no pages"),
    ("bench_drawing.py", ["--data", "{tmp}", "--repeat", "0"], "--repeat"),
    ("bench_drawing.py", ["--data", "{tmp}", "--limit", "-1"], "--limit"),
    ("bench_search.py", ["--sizes", "0", "--cache", "{tmp}/cache"], "--sizes"),
    ("bench_search.py", ["--sizes", "abc", "--cache", "{tmp}/cache"], "--sizes"),
    ("bench_query_modes.py", ["--queries", "0", "--workdir", "{tmp}/work"], "--queries"),
    ("bench_query_crops.py", ["--queries", "-1", "--workdir", "{tmp}/work"], "--queries"),
    ("bench_cli_startup.py", ["--repeats", "0", "--workdir", "{tmp}/work"], "--repeats"),
    ("bench_text_pages.py", ["--text-pages", "-3"], "--text-pages"),
    ("bench_synthetic.py", ["--designs", "0"], "--designs"),
    ("bench_synthetic.py", ["--scale", "0"], "--scale"),
    ("bench_embed.py", ["--pages", "0", "--model", "{tmp}/no-model"], "--pages"),
    ("bench_embed.py", ["--pages", "1", "--model", "nosuch"], "--model: model 'nosuch'"),
    ("bench_demo.py", ["--patents", "0", "--workdir", "{tmp}/work"], "--patents"),
]


@pytest.mark.parametrize("script,args,names", BAD,
                         ids=[f"{s} {' '.join(a)}" for s, a, _ in BAD])
def test_bad_argument_is_a_usage_error(script, args, names, tmp_path):
    tmp = _empty(tmp_path)
    (tmp / "uspto_redbook").mkdir()
    proc = _run(script, *[a.replace("{tmp}", str(tmp)) for a in args], timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith(f"{script}: error: ") and names in last, proc.stderr
    assert proc.stdout == ""        # nothing started: no table header, no machine line
    assert sorted(p.name for p in tmp.iterdir()) == ["uspto_redbook"]   # nothing written


def test_the_demo_bench_never_removes_a_folder_it_did_not_make(tmp_path):
    """--workdir holding a demo/ or real/ folder that is not a library (someone's notes) is
    refused before any work; the bench removed it with everything in it."""
    work = tmp_path / "work"
    (work / "real").mkdir(parents=True)
    (work / "real" / "notes.txt").write_text("precious")
    proc = _run("bench_demo.py", "--patents", "2", "--workdir", str(work), timeout=60)
    assert proc.returncode == 2 and "not a library an earlier run made" in proc.stderr
    assert (work / "real" / "notes.txt").read_text() == "precious"


def test_train_default_started_elsewhere_says_where_to_run_it(tmp_path):
    """The default config's data paths are relative to the repository: started from another
    folder the script says so in one line (it ended in a traceback), before any training."""
    proc = subprocess.run([sys.executable, str(REPO / "bench" / "train_default.py"),
                           "--install", ""], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    line, = proc.stderr.strip().splitlines()
    assert line.startswith("train_default: error: training data not found") and \
        line.endswith(f"run it from {REPO})")
    assert list(tmp_path.iterdir()) == []


def test_the_demo_bench_scores_a_library_without_prior_art_queries(shared_data, tmp_path,
                                                                   tiny_model, monkeypatch):
    """A small demo (--patents 3) may hold no patent with an earlier one of its subclass: the
    bench ended in a KeyError after building it; the row says "–" for what was not scored."""
    from core.ingest import ingest
    from core.library import Library

    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import bench_demo

    with Library(tmp_path / "lib", create=True) as lib:
        ingest(lib, shared_data / "uspto_redbook" / "USD0908315-20210126", tiny_model,
               workers=0)
        queries, mrr, hit1, prior_art, pa_map = bench_demo.quality(lib)
    assert queries > 0 and 0 < mrr <= 1 and 0 <= hit1 <= 1
    assert (prior_art, pa_map) == (0, "–")
