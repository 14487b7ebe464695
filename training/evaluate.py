"""Cross-validated retrieval evaluation on a prepared corpus (the protocol of
docs/results_training.md).

The real patents of the corpus form the library: every figure crop is embedded by the model
under test (exactly the crops ingestion would index: same DrawingConfig, find_figures,
render_figure) and scored with core.evaluation. Queries are the drawing sheets of the held-out
patents; the gallery is the whole library (the deployed situation) or, in the strict variant,
only the held-out patents. ``score(..., text=...)`` fuses text similarity the way the
examiner's text query does: image cosine + w * cosine(MiniLM(query title), MiniLM(gallery
patent texts)).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import torch

from core.evaluation import (EvalQuery, EvalResult, Gallery, effective_filing_date, evaluate,
                             fusion_scores_fn, library_query_vectors, per_application)
from core.store import date_ord

from . import encoder
from .dataset import Corpus


@dataclass
class EvalSet:
    corpus: Corpus
    rows: np.ndarray              # corpus rows of the library (real patents)
    gallery: Gallery              # labels = corpus rows, vectors filled per model
    queries: list[EvalQuery]


def eval_set(corpus: Corpus, sources: list[str]) -> EvalSet:
    """The library of the corpus's real (non-synthetic) patents, with dates from the sources."""
    from core.ingest import scan_sources

    scans, _ = scan_sources(sources, allow_absolute=True)
    patents, kinds = {}, {}
    for scan in scans:
        patents.update(scan.patents)
        kinds.update({(str(p.path), p.page_index): p.page_kind for p in scan.pages})
    rows = np.asarray([i for i in range(len(corpus)) if corpus.patent[i] in patents
                       and corpus.page[i] is not None])
    page_ids: dict = {}
    pages = np.asarray([page_ids.setdefault(corpus.page[i], len(page_ids)) for i in rows])
    pids = corpus.patent[rows]
    loc = np.asarray([patents[p].locarno or "" for p in pids], dtype=object)
    gallery = Gallery(rows.astype(np.int64), np.zeros((len(rows), 1), np.float32), pids,
                      np.asarray([date_ord(patents[p].grant_date) for p in pids], np.int64),
                      loc, np.asarray([c[:2] for c in loc], dtype=object), pages)
    queries = []
    for key, pid in sorted({(k, p) for k, p in zip(map(corpus.page.__getitem__, rows), pids)},
                           key=lambda kp: page_ids[kp[0]]):
        if kinds.get(key) != "drawing_sheet":
            continue
        rec = patents[pid]
        queries.append(EvalQuery(pid, effective_filing_date(rec.filing_date, rec.priority_date),
                                 rec.locarno, page_id=page_ids[key],
                                 text=rec.extra.get("title_display") or rec.title))
    return EvalSet(corpus, rows, gallery, queries)


@torch.no_grad()
def embed_rows(model, corpus: Corpus, rows: np.ndarray, bank=None, batch_size: int = 64
               ) -> np.ndarray:
    """L2-normalised embeddings of corpus rows: from the bank's clean prefix features (the
    tail only) when given, else from the crops (the whole image tower)."""
    model.clip.eval()
    out = []
    for s in range(0, len(rows), batch_size):
        idx = rows[s:s + batch_size]
        if bank is not None:
            feats = torch.from_numpy(np.stack([bank.clean[i] for i in idx]))
            v = encoder.tail(model.clip.visual, feats, bank.freeze_blocks)
            out.append(torch.nn.functional.normalize(v.float(), dim=-1).numpy())
        else:
            crops = torch.from_numpy(np.stack([corpus.image(i) for i in idx])).unsqueeze(1)
            out.append(model.encode_images(crops).numpy())
    return np.concatenate(out).astype(np.float32)


def score(es: EvalSet, vectors: np.ndarray, patents: set[str], *, strict: bool = False,
          text: tuple[dict, object] | None = None, weight: float = 0.0,
          per: str = "sheet") -> EvalResult:
    """Metrics of the queries of ``patents`` against the library (or, strict, against those
    patents only); ``text = (patent_texts(...), TextCache)`` with ``weight`` > 0 fuses text;
    ``per="application"``: one query per patent with all its sheets (prior art only)."""
    g = replace(es.gallery, vectors=vectors)
    if strict:
        keep = np.isin(g.patent, list(patents))
        g = Gallery(*(getattr(g, f)[keep] for f in ("labels", "vectors", "patent", "grant",
                                                     "subclass", "main_class", "page")))
    queries = [q for q in es.queries if q.patent_id in patents]
    if per == "application":
        queries = per_application(queries)
    fn = _fused(g, *text, weight) if text is not None and weight else None
    return evaluate(g, queries, library_query_vectors(None, g), fn)


def patent_texts(es: EvalSet, texts) -> dict[str, np.ndarray]:
    """Patent id -> mean MiniLM embedding of its title and enriched descriptions
    (``texts``: a training.textcache.TextCache)."""
    by_patent: dict[str, list[str]] = {}
    for i in es.rows:
        pid = es.corpus.patent[i]
        by_patent.setdefault(pid, [t for t in [es.corpus.title[i]] if t])
        by_patent[pid] += es.corpus.texts(int(i))
    out = {}
    for pid, ts in by_patent.items():
        v = texts(list(dict.fromkeys(ts)) or ["a design patent drawing"]).mean(0)
        out[pid] = torch.nn.functional.normalize(v, dim=0).cpu().numpy()
    return out


def _fused(g: Gallery, by_patent: dict, texts, weight: float):
    """The search's fused score (core.evaluation.fusion_scores_fn): image cosine + weight *
    cosine(query title, gallery patent text), with the training run's text vectors."""
    index = SimpleNamespace(patent_ids=np.array(list(by_patent), dtype=object),
                            vectors=np.stack(list(by_patent.values())))
    return fusion_scores_fn(g, index, lambda text: texts([text])[0].cpu().numpy(), "fused",
                            {"image": 1.0, "text": weight, "cross": 0.0})
