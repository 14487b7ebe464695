"""Query latency, recall and footprint of the date-cutoff search, and of the alternatives.

    python bench/bench_search.py [--sizes 10000,100000,1000000] [--queries 200]

Libraries of 10k, 100k and 1M figures: vectors are synthetic but shaped like real ones
(bench/_synthetic.py, fitted to a real library built with the default model), rows are real
store rows (patents, pages, figures), grant dates spread over 14 years in grant order (a
collection added week by week). Built once and cached under --cache (never in the repo).

Table 2, per size and cutoff (share of the library granted before the cutoff): the search step
p50/p95 (ms, one query at a time, warm) and recall@10 against exact search; results past the
cutoff (must be 0); the end-to-end query (decode, preprocess, embed, search, metadata) of real
drawing sheets; memory, disk and build time per million figures.
Table 3, same cells: exact matrix multiply of the allowed vectors, faiss flat and HNSW with a
native id filter (if faiss is installed; it is not a dependency of the app), hnswlib's own
filtered search (a Python callback per visited node: this app's previous strategy), and this
index at several ``ef``.
"""
from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import core  # noqa: E402,F401  (process settings before torch loads: core/_env.py)
from _common import (REAL_DEV, load, machine, manifest_rows, non_negative_int, pct,  # noqa: E402
                     positive_int, summary, table)
from _synthetic import VectorModel  # noqa: E402

from core.index import IndexParams  # noqa: E402

K = 10
SHARES = (0.01, 0.1, 0.5, 1.0)
FIRST_GRANT = date(2007, 1, 2)
YEARS = 14
# the 1 % cutoff must let through at least K figures (recall@K against exact search)
MIN_SIZE = 5_000


# -- data -----------------------------------------------------------------------------------
def vector_model(cache: Path) -> VectorModel:
    """Fitted to the real_dev library (built with the default model on first use)."""
    path = cache / "vector_model.npz"
    if not path.exists():
        from core.library import Library

        lib_path = cache / "real_lib"
        if not (lib_path / "library.sqlite").exists():
            subprocess.run([sys.executable, "-m", "core.cli", "index", "add",
                            str(REAL_DEV), "--library",
                            str(lib_path)], check=True, cwd=Path(__file__).parents[1])
        with Library(lib_path) as lib:
            index = lib.index()
            labels = np.concatenate([s.labels for s in index.segments])
            patent = lib.store.patent_of_figures(labels)
            vm = VectorModel.fit(index.vectors_of(labels), np.array([patent[int(x)]
                                                                     for x in labels]))
        np.savez(path, mean=vm.mean, between=vm.between, within=vm.within,
                 fpp=vm.figures_per_patent)
    z = np.load(path)
    return VectorModel(z["mean"], z["between"], z["within"], float(z["fpp"]))


def dataset(n: int, cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectors, patent numbers and grant ordinals (non-decreasing) of an n-figure library."""
    path = cache / f"data-{n}.npz"
    if not path.exists():
        vectors, patent = vector_model(cache).sample(n, np.random.default_rng(n))
        weeks = YEARS * 52
        week = (patent * weeks) // (patent[-1] + 1)
        dates = np.array([(FIRST_GRANT + timedelta(weeks=int(w))).toordinal() for w in week])
        np.save(cache / f"vectors-{n}.npy", vectors)
        np.savez(path, patent=patent, dates=dates)
    z = np.load(path)
    return np.load(cache / f"vectors-{n}.npy", mmap_mode="r"), z["patent"], z["dates"]


def build_library(n: int, cache: Path, model) -> tuple[Path, dict]:
    """A library folder of n figures (store rows + index), built once."""
    from core.library import Library

    path = cache / f"lib-{n}"
    marker = path / "BUILT.json"
    if marker.exists():
        return path, json.loads(marker.read_text())
    vectors, patent, dates = dataset(n, cache)
    real = manifest_rows()
    lib = Library(path, create=True, params=IndexParams())
    conn = lib.store.conn
    n_pat = int(patent[-1]) + 1
    first_fig = np.searchsorted(patent, np.arange(n_pat))
    with lib.store.transaction():
        conn.executemany(
            "INSERT INTO patents(patent_id, title, title_display, grant_date, locarno, "
            "synthetic, run_id) VALUES (?,?,?,?,?,1,'bench')",
            ((f"SYN-{p:06d}", real[p % len(real)]["title"], real[p % len(real)]["title"],
              date.fromordinal(int(dates[first_fig[p]])).isoformat(),
              real[p % len(real)]["locarno"]) for p in range(n_pat)))
        conn.executemany(
            "INSERT INTO pages(id, patent_id, path, page_index, page_kind, n_figures, run_id) "
            "VALUES (?,?,?,0,'drawing_sheet',1,'bench')",
            ((i + 1, f"SYN-{int(patent[i]):06d}",
              str(real[i % len(real)]["path"]) + f"#{i}")
             for i in range(n)))
        lib.store.insert_figures((i + 1, i + 1, f"SYN-{int(patent[i]):06d}", 0, 0, 0, 100, 100,
                                  int(dates[i]), "bench") for i in range(n))
    manifest = lib.new_manifest(model)
    seg = lib.params.segment_max
    t0 = time.perf_counter()
    for s in range(0, n, seg):
        manifest["segments"].append(lib.write_segment(
            np.arange(s + 1, min(n, s + seg) + 1), dates[s:s + seg],
            np.asarray(vectors[s:s + seg])))
    build_s = time.perf_counter() - t0
    with lib.store.transaction():
        lib.set_manifest(manifest)
        lib.bind_model(conn, model, "default")
    info = {"build_s": build_s, "load": load(), "segments": len(manifest["segments"])}
    marker.write_text(json.dumps(info))
    lib.close()
    return path, info


def faiss_hnsw(n: int, cache: Path, vectors: np.ndarray):
    import faiss

    path = cache / f"faiss-hnsw-{n}.index"
    if path.exists():
        return faiss.read_index(str(path)), json.loads(path.with_suffix(".json").read_text())
    p = IndexParams()
    index = faiss.IndexHNSWFlat(vectors.shape[1], p.M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = p.ef_construction
    t0 = time.perf_counter()
    index.add(np.ascontiguousarray(vectors))
    info = {"build_s": time.perf_counter() - t0, "load": load()}
    faiss.write_index(index, str(path))
    path.with_suffix(".json").write_text(json.dumps(info))
    return index, info


# -- measurement ----------------------------------------------------------------------------
def cutoffs(dates: np.ndarray) -> list[tuple[float, int, int]]:
    """(share, cutoff ordinal, allowed count) for each share of the library."""
    out = []
    for share in SHARES:
        if share == 1.0:
            before = int(dates[-1]) + 1
        else:
            before = int(dates[int(share * len(dates))])
        out.append((share, before, int(np.searchsorted(dates, before))))
    return out


def truth(vectors: np.ndarray, queries: np.ndarray, n_ok: int) -> np.ndarray:
    out = np.empty((len(queries), K), np.int64)
    for s in range(0, len(queries), 50):
        best = np.full((min(50, len(queries) - s), 0), -np.inf, np.float32)
        ids = np.empty((len(best), 0), np.int64)
        for c in range(0, n_ok, 200_000):
            block = np.asarray(vectors[c:min(n_ok, c + 200_000)])
            sims = queries[s:s + 50] @ block.T
            best = np.concatenate([best, sims], 1)
            ids = np.concatenate([ids, np.broadcast_to(np.arange(c, c + len(block)) + 1,
                                                       sims.shape)], 1)
            top = np.argsort(-best, axis=1)[:, :K]
            best, ids = np.take_along_axis(best, top, 1), np.take_along_axis(ids, top, 1)
        out[s:s + 50] = ids
    return out


def run(fn, queries: np.ndarray, n_ok: int, gold: np.ndarray, limit: int | None = None):
    """p50, p95 ms, recall@10, results past the cutoff, over one query at a time."""
    qs = queries[:limit] if limit else queries
    fn(qs[0])
    times, got = [], []
    for q in qs:
        t = time.perf_counter()
        labels = fn(q)
        times.append((time.perf_counter() - t) * 1000)
        got.append(np.asarray(labels).ravel()[:K])
    rec = np.mean([len(set(g.tolist()) & set(t.tolist())) / min(K, n_ok)
                   for g, t in zip(got, gold[:len(qs)])])
    past = sum(int(((g > n_ok)).sum()) for g in got)
    return pct(times, 50), pct(times, 95), rec, past


def methods(index, vectors, faiss_h, faiss_f, n_ok, before, sweep):
    """name -> one-query search returning labels (1-based row numbers, -1 = none)."""
    out = {}
    base_ef = index.params.ef_search
    for ef in sweep:
        def ours(q, ef=ef):
            index.set_ef(ef)
            return index.search(q, K, before=before)[0]
        out[f"this index, ef {ef}" + (" (default)" if ef == base_ef else "")] = ours

    def exact(q):
        sims = np.asarray(vectors[:n_ok]) @ q
        top = np.argpartition(-sims, min(K, n_ok) - 1)[:K]
        return top[np.argsort(-sims[top])] + 1
    out["exact matmul"] = exact

    def old_filter(q):
        from core.index import _exact

        res = []
        for seg in index.segments:
            m = seg.allowed_count(before)
            if m == 0:
                continue
            if m <= 20_000 or seg.hnsw is None:
                res.append(_exact(seg.rows(slice(0, m)), seg.labels[:m], q[None], K))
            else:
                limit = seg.labels[m - 1] + 1
                seg.hnsw.set_ef(128)
                lab, dist = seg.hnsw.knn_query(q[None], k=K, num_threads=1,
                                               filter=lambda x: x < limit)
                res.append((lab.astype(np.int64), 1 - dist))
        labels = np.concatenate([r[0] for r in res], 1)
        scores = np.concatenate([r[1] for r in res], 1)
        return labels[0][np.argsort(-scores[0])[:K]]
    out["hnswlib filtered (Python callback), ef 128"] = old_filter
    if faiss_f is not None:
        import faiss

        sel = faiss.IDSelectorRange(0, n_ok)
        for name, idx, params in [
                ("faiss flat + id range", faiss_f, faiss.SearchParameters(sel=sel)),
                *[(f"faiss HNSW + id range, ef {ef}", faiss_h,
                   faiss.SearchParametersHNSW(sel=sel, efSearch=ef)) for ef in (128, 256)
                  if faiss_h is not None]]:
            def fs(q, idx=idx, params=params):
                _, lab = idx.search(q[None], K, params=params)
                return np.where(lab[0] >= 0, lab[0] + 1, -1)
            out[name] = fs
    return out


def end_to_end(path: Path, model, cuts, n_queries: int) -> dict:
    """Warm end-to-end latencies of real drawing sheets, per cutoff share."""
    from core.library import Library
    from core.search import Searcher, SearchQuery

    sheets = [r["path"] for r in manifest_rows(kind="drawing_sheet")][::7][:n_queries]
    out = {}
    with Library(path, params=IndexParams()) as lib:
        searcher = Searcher(lib, model)
        for q in sheets[:2]:
            searcher.search(SearchQuery(image=q, k=K))
        for share, before, _ in cuts:
            timings = []
            for q in sheets:
                resp = searcher.search(SearchQuery(image=q, k=K,
                                                   before=date.fromordinal(before)))
                assert all(h.grant_date < date.fromordinal(before).isoformat()
                           for h in resp.results)
                timings.append(resp.timings_ms)
            out[share] = {k: (pct([t[k] for t in timings], 50), pct([t[k] for t in timings], 95))
                          for k in timings[0]}
    return out


def footprint(path: Path) -> dict:
    """RSS after opening the library's index and running warm queries (fresh process)."""
    code = (
        "import sys, json, numpy as np\n"
        "sys.path.insert(0, 'bench')\n"
        "from _common import rss_mb\n"
        "from core.library import Library\n"
        "r0 = rss_mb()\n"
        f"lib = Library({str(path)!r})\n"
        "ix = lib.index()\n"
        "r1 = rss_mb()\n"
        "q = np.random.default_rng(0).standard_normal((50, ix.dim)).astype('float32')\n"
        "for s in (0.01, 0.1, 0.5, 1.0):\n"
        "    b = int(np.quantile(np.concatenate([x.dates for x in ix.segments]), min(s, 1)))"
        " + (1 if s == 1 else 0)\n"
        "    [ix.search(x, 10, before=b) for x in q]\n"
        "st = {l.split(':')[0]: int(l.split()[1]) / 1024 for l in open('/proc/self/status')"
        " if l.startswith(('RssAnon', 'RssFile'))}\n"
        "print(json.dumps({'loaded': r1 - r0, 'after': rss_mb() - r0, **st}))\n")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1], check=True)
    info = json.loads(out.stdout.strip().splitlines()[-1])
    info["open_s"] = time.perf_counter() - t0
    index_bytes = sum(p.stat().st_size for p in (path / "index").iterdir())
    info["disk_index_mb"] = index_bytes / 2**20
    info["disk_db_mb"] = (path / "library.sqlite").stat().st_size / 2**20
    return info


def sizes(text: str) -> list[int]:
    """--sizes: comma-separated library sizes (figures), each a whole number >= MIN_SIZE."""
    out = []
    for item in text.split(","):
        try:
            n = int(item)
        except ValueError:
            n = None
        if n is None or n < MIN_SIZE:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated whole numbers of at least {MIN_SIZE}, got {item!r}")
        out.append(n)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=summary(__doc__))
    ap.add_argument("--sizes", type=sizes, default=[10_000, 100_000, 1_000_000],
                    help=f"library sizes in figures, comma-separated, each at least {MIN_SIZE} "
                         "(default: 10000,100000,1000000)")
    ap.add_argument("--queries", type=positive_int, default=200)
    ap.add_argument("--e2e-queries", type=positive_int, default=20)
    ap.add_argument("--slow-queries", type=positive_int, default=50,
                    help="queries for the slow alternatives (Python-callback filter)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/pe_bench"))
    ap.add_argument("--build-only", action="store_true")
    ap.add_argument("--faiss-hnsw-max", type=non_negative_int, default=100_000,
                    help="largest library to build a faiss HNSW graph for (1M takes hours "
                         "on 2 cores; its numbers are then omitted)")
    args = ap.parse_args()
    if args.cache.exists() and not args.cache.is_dir():
        ap.error(f"--cache: {args.cache} is not a folder")
    args.cache.mkdir(parents=True, exist_ok=True)
    from core.library import Library
    from core.models import load_model

    model = load_model("default")
    stamp = args.cache / "MODEL_ID"      # the vector model and libraries follow this model
    if stamp.exists() and stamp.read_text().strip() != model.model_id:
        sys.exit(f"{args.cache} holds data fitted to model {stamp.read_text().strip()}, not "
                 f"{model.model_id}: pass --cache NEWDIR (or delete it)")
    stamp.write_text(model.model_id + "\n")
    try:
        import faiss
    except ImportError:
        faiss = None
    print(f"machine: {machine()}; faiss: {faiss.__version__ if faiss else 'not installed'}")
    p = IndexParams()
    print(f"index params: M {p.M}, ef_construction {p.ef_construction}, ef_search "
          f"{p.ef_search}, exact_max {p.exact_max}, filter_min_share {p.filter_min_share}, "
          f"overfetch {p.overfetch}, segment_max {p.segment_max}")
    rows2, rows3, foot = [], [], []
    for n in args.sizes:
        path, built = build_library(n, args.cache, model)
        vectors, _, dates = dataset(n, args.cache)
        fh = ff = None
        if faiss is not None:
            if n <= args.faiss_hnsw_max or (args.cache / f"faiss-hnsw-{n}.index").exists():
                fh, fbuilt = faiss_hnsw(n, args.cache, vectors)
                built["faiss_build_s"] = fbuilt["build_s"]
        if args.build_only:
            continue
        if faiss is not None:
            ff = faiss.IndexFlatIP(vectors.shape[1])
            ff.add(np.ascontiguousarray(vectors))
        with Library(path, params=IndexParams()) as lib:
            lib.store.set_meta("model", {**lib.model_info, "id": model.model_id})
            with lib.store.transaction():
                m = lib.manifest
                m["model_id"] = model.model_id
                lib.set_manifest(m)
        queries, _ = vector_model(args.cache).sample(args.queries, np.random.default_rng(7))
        cuts = cutoffs(dates)
        e2e = end_to_end(path, model, cuts, args.e2e_queries)
        with Library(path, params=IndexParams()) as lib:
            index = lib.index(verify="none")
            for share, before, n_ok in cuts:
                gold = truth(vectors, queries, n_ok)
                sweep = sorted({128, 192, index.params.ef_search, 320})
                for name, fn in methods(index, vectors, fh, ff, n_ok, before, sweep).items():
                    slow = "callback" in name or name == "exact matmul" and n > 100_000
                    p50, p95, rec, past = run(fn, queries, n_ok, gold,
                                              args.slow_queries if slow else None)
                    row = [f"{n:,}", f"{share:.0%}", name, p50, p95, f"{rec:.3f}", past]
                    rows3.append(row)
                    if "(default)" in name:
                        e = e2e[share]
                        rows2.append([f"{n:,}", f"{share:.0%}", f"{n_ok:,}", p50, p95,
                                      f"{rec:.3f}", past, e["total"][0], e["total"][1],
                                      e["decode"][0], e["preprocess"][0], e["embed"][0],
                                      e["search"][0], e["metadata"][0]])
                    print(" | ".join(str(x) for x in row), flush=True)
                index.set_ef(IndexParams().ef_search)
        del fh, ff
        gc.collect()
        f = footprint(path)
        per_m = 1_000_000 / n
        foot.append([f"{n:,}", built["segments"], f["after"] * per_m, f["RssAnon"] * per_m,
                     f["RssFile"] * per_m, (f["disk_index_mb"] + f["disk_db_mb"]) * per_m,
                     f["disk_db_mb"] * per_m, built["build_s"] * per_m / 60,
                     built.get("faiss_build_s", float("nan")) * per_m / 60, f["open_s"],
                     built["load"]])
    if args.build_only:
        return
    print(f"\n### Table 2: query latency and recall@{K} (load {load()})\n")
    print(table(["figures", "cutoff lets through", "allowed", "search p50 ms", "search p95 ms",
                 "recall@10", "results past cutoff", "end-to-end p50 ms", "end-to-end p95 ms",
                 "decode p50", "preprocess p50", "embed p50", "search p50 (e2e)",
                 "metadata p50"], rows2))
    print("\n### Footprint per million figures\n")
    print(table(["library", "segments", "RSS MB/M (index open, warm)", "anonymous MB/M",
                 "file-backed MB/M", "disk MB/M", "of which SQLite MB/M",
                 "index build min/M (2 threads)", "faiss HNSW build min/M",
                 "open + warm-up s", "load at build"], foot))
    print(f"\n### Table 3: the alternatives, same cells (load {load()})\n")
    print(table(["figures", "cutoff", "method", "p50 ms", "p95 ms", "recall@10",
                 "past cutoff"], rows3))


if __name__ == "__main__":
    main()
