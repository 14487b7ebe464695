"""The date-partitioned index returns the true top-k before any cutoff (checked against brute
force), on every search path: exact prefix, full HNSW, filtered HNSW, label filters."""
import numpy as np
import pytest

from core.index import IndexError_, IndexParams, VectorIndex, empty_manifest, write_segment


def _unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _build(tmp_path, sizes, d=32, params=None, seed=0, overlap=False):
    rng = np.random.default_rng(seed)
    params = params or IndexParams(min_hnsw=500, exact_max=300, ef_search=200)
    manifest = empty_manifest("test-model", d)
    all_l, all_d, all_v = [], [], []
    label = 1
    day0 = 730000
    for i, n in enumerate(sizes):
        labels = np.arange(label, label + n)
        label += n
        start = day0 if overlap else day0 + i * 1000
        dates = rng.integers(start, start + 1000, n)
        vecs = _unit(rng, n, d)
        manifest["segments"].append(write_segment(tmp_path, labels, dates, vecs, params))
        all_l.append(labels), all_d.append(dates), all_v.append(vecs)
    index = VectorIndex(tmp_path, manifest, params)
    return index, np.concatenate(all_l), np.concatenate(all_d), np.concatenate(all_v)


def _brute(labels, dates, vecs, q, k, before=None, allowed=None):
    ok = np.ones(len(labels), bool)
    if before is not None:
        ok &= dates < before
    if allowed is not None:
        ok &= np.isin(labels, allowed)
    sims = q @ vecs[ok].T
    order = np.argsort(-sims, axis=1)[:, :k]
    return labels[ok][order]


def _recall(got, truth):
    return np.mean([len(set(g[g >= 0]) & set(t)) / max(len(t), 1) for g, t in zip(got, truth)])


@pytest.mark.parametrize("overlap", [False, True])
@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.5, 1.0])
def test_cutoff_matches_brute_force(tmp_path, overlap, fraction):
    index, labels, dates, vecs = _build(tmp_path, [1500, 1200, 200], overlap=overlap)
    rng = np.random.default_rng(1)
    queries = _unit(rng, 20, 32)
    before = int(np.quantile(dates, fraction)) + (1 if fraction == 1.0 else 0)
    got, scores = index.search(queries, 10, before=before)
    truth = _brute(labels, dates, vecs, queries, 10, before)
    # no result at or after the cutoff, ever
    date_of = dict(zip(labels.tolist(), dates.tolist()))
    assert all(date_of[int(lab)] < before for lab in got.ravel() if lab >= 0)
    assert _recall(got, truth) >= 0.98
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first


def test_exact_mode_equals_brute_force(tmp_path):
    index, labels, dates, vecs = _build(tmp_path, [800, 700])
    q = _unit(np.random.default_rng(2), 5, 32)
    before = int(np.median(dates))
    got, _ = index.search(q, 7, before=before, exact=True)
    assert (got == _brute(labels, dates, vecs, q, 7, before)).all()


def test_a_tie_at_the_kth_place_keeps_the_lower_label_whatever_k(tmp_path):
    """Figures with equal scores (a drawing filed twice, its copies in two segments): the one
    at the k-th place depended on k (argpartition picks any of a tie), so rank 20 of a
    search for 20 was not rank 20 of a search for 21. Equal scores now go by label."""
    rng = np.random.default_rng(5)
    params = IndexParams(min_hnsw=10_000, exact_max=10_000)
    manifest = empty_manifest("test-model", 16)
    vecs = _unit(rng, 60, 16)
    vecs[40:50] = vecs[0]                          # ten copies of figure 1 ...
    vecs[50:60] = vecs[0]                          # ... ten more in a second segment
    for first, part in ((1, vecs[:50]), (51, vecs[50:])):
        labels = np.arange(first, first + len(part))
        manifest["segments"].append(write_segment(tmp_path, labels, np.full(len(part), 730000),
                                                  part, params))
    index = VectorIndex(tmp_path, manifest, params)
    q = vecs[:1] + 0.01 * _unit(rng, 1, 16)
    q /= np.linalg.norm(q)
    ties = [1] + list(range(41, 61))                   # 21 equal best scores
    for k in range(1, 24):
        got, scores = index.search(q, k)
        expected = ties[:k] if k <= len(ties) else None
        if expected is not None:
            assert got[0].tolist() == expected, k
        else:
            assert got[0, :len(ties)].tolist() == ties and scores[0, len(ties)] < scores[0, 0]


def test_fewer_allowed_than_k_pads(tmp_path):
    index, labels, dates, vecs = _build(tmp_path, [600])
    before = int(np.sort(dates)[2])  # only the items strictly before the third date
    n_ok = int((dates < before).sum())
    got, scores = index.search(_unit(np.random.default_rng(3), 1, 32), 10, before=before)
    assert (got[0] >= 0).sum() == n_ok
    assert np.isneginf(scores[0][n_ok:]).all()
    got, _ = index.search(_unit(np.random.default_rng(3), 1, 32), 10, before=int(dates.min()))
    assert (got == -1).all()
    got, _ = index.search(_unit(np.random.default_rng(3), 1, 32), 10**11)   # everything
    assert got.shape == (1, 600) and sorted(got[0]) == sorted(labels)


def test_label_filter_matches_brute_force(tmp_path):
    index, labels, dates, vecs = _build(tmp_path, [1500, 900])
    rng = np.random.default_rng(4)
    for share in (0.02, 0.4):
        allowed = np.sort(rng.choice(labels, int(len(labels) * share), replace=False))
        q = _unit(rng, 10, 32)
        before = int(np.quantile(dates, 0.7))
        got, _ = index.search(q, 10, before=before, allowed=allowed)
        assert set(got[got >= 0].tolist()) <= set(allowed.tolist())
        assert _recall(got, _brute(labels, dates, vecs, q, 10, before, allowed)) >= 0.98


def test_truncated_or_corrupted_file_is_detected(tmp_path):
    index, *_ = _build(tmp_path, [600])
    manifest = index.manifest
    hnsw = next(tmp_path.glob("*.hnsw"))
    data = bytearray(hnsw.read_bytes())
    data[len(data) // 2] ^= 0xFF
    hnsw.write_bytes(bytes(data))
    with pytest.raises(IndexError_, match="damaged"):
        VectorIndex(tmp_path, manifest)
    hnsw.write_bytes(bytes(data[:-100]))
    with pytest.raises(IndexError_, match="truncated"):
        VectorIndex(tmp_path, manifest)


def test_dimension_mismatch(tmp_path):
    index, *_ = _build(tmp_path, [100])
    with pytest.raises(IndexError_, match="dimension"):
        index.search(np.zeros((1, 8), np.float32), 5)


def test_merge_plan_small_then_tiers_and_never_past_segment_max():
    from core.index import plan_merge

    p = IndexParams(min_hnsw=100, fanout=2, segment_max=1000)

    def seg(name, count):
        return {"name": name, "count": count}
    assert plan_merge([seg("a", 10), seg("b", 20)], p) == []            # too little yet
    assert plan_merge([seg("a", 10), seg("b", 20)], p, force=True) == ["a", "b"]
    assert plan_merge([seg("a", 60), seg("b", 50)], p) == ["a", "b"]    # adds up to a graph
    assert plan_merge([seg("a", 120), seg("b", 150), seg("c", 300)], p) == ["a", "b"]
    assert plan_merge([seg("a", 600), seg("b", 700)], p) == []          # would pass the cap


def test_merged_segment_extends_the_largest_graph_and_searches_right(tmp_path):
    from core.index import merge_segments

    params = IndexParams(min_hnsw=500, exact_max=300, ef_search=200)
    index, labels, dates, vecs = _build(tmp_path, [1500, 700, 300], params=params, overlap=True)
    entry = merge_segments(tmp_path, index.manifest["segments"], params)
    assert entry["count"] == 2500 and entry["hnsw"]
    merged = VectorIndex(tmp_path, {**index.manifest, "segments": [entry]}, params)
    q = _unit(np.random.default_rng(5), 20, 32)
    for share in (0.1, 0.6, 1.0):
        before = int(np.quantile(dates, share)) + (share == 1.0)
        got, _ = merged.search(q, 10, before=before)
        assert _recall(got, _brute(labels, dates, vecs, q, 10, before)) >= 0.98


@pytest.mark.parametrize("threads", [1, 2])
def test_segment_search_uses_at_most_the_configured_threads(tmp_path, monkeypatch, threads):
    import os
    import threading

    monkeypatch.setattr(os, "cpu_count", lambda: 16)   # a bigger machine than the setting
    params = IndexParams(min_hnsw=500, exact_max=300, ef_search=200, threads=threads)
    index, labels, dates, vecs = _build(tmp_path, [400] * 6, params=params)
    seen = set()
    search_segment = VectorIndex._search_segment

    def spy(self, *args):
        seen.add(threading.current_thread().name)
        return search_segment(self, *args)

    monkeypatch.setattr(VectorIndex, "_search_segment", spy)
    q = _unit(np.random.default_rng(3), 5, 32)
    for _ in range(20):
        got, _ = index.search(q, 10)
    assert (got == _brute(labels, dates, vecs, q, 10)).mean() >= 0.98
    if threads == 1:
        assert seen == {threading.current_thread().name}
    else:
        assert 1 <= len(seen) <= threads and all(n.startswith("index") for n in seen)
