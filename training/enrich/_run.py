"""Run enrichers over a store's patents and read their cached descriptions back."""
from __future__ import annotations

import json
import logging
from typing import Callable, Iterable

from core.store import Store, now_iso
from core.text_index import describing_title

from ..views import number_figures
from ._base import Enricher, EnricherUnavailable, FigureContext

log = logging.getLogger(__name__)


def figure_key(number: int | None) -> str:
    return f"fig:{number}" if number is not None else ""


def contexts_from_store(store: Store, patent_ids: Iterable[str] | None = None,
                        with_images: bool = False) -> list[FigureContext]:
    """One context per patent (figure_key "") and per numbered figure of a library."""
    pids = list(patent_ids) if patent_ids is not None else [
        r[0] for r in store.conn.execute(
            "SELECT DISTINCT patent_id FROM pages ORDER BY patent_id")]
    out = []
    for pid in pids:
        pat = store.patent(pid)
        if pat is None:
            continue
        descriptions = json.loads(pat["figure_descriptions"] or "[]")
        base = dict(patent_id=pid, title=describing_title(pat), locarno=pat["locarno"])
        out.append(FigureContext(**base))
        pages = store.pages_of_patent(pid)
        figs = {p["id"]: [] for p in pages}
        for row in store.figures_of_patent(pid):
            figs.setdefault(row["page_id"], []).append(row)
        views = number_figures([(p["page_kind"], p["sheet"], len(figs[p["id"]]))
                                for p in pages], descriptions)
        seen = set()
        for p, vs in zip(pages, views):
            for row, v in zip(figs[p["id"]], vs):
                if v.number in seen or v.number is None:
                    continue
                seen.add(v.number)
                out.append(FigureContext(
                    **base, figure_key=figure_key(v.number), view=v.view,
                    description=v.description,
                    image=_image_loader(row) if with_images else None))
    return out


def _image_loader(row: dict) -> Callable:
    def load():
        from core.drawing import FigureBox, render_figure
        from core.imageio import read_page

        page = read_page(row["image"], row["page_index"]).array
        return render_figure(page, FigureBox(row["x0"], row["y0"], row["x1"], row["y1"]))
    return load


def store_cache(store: Store) -> tuple[Callable[[str], str | None], Callable[[str, str], None]]:
    """get/put functions over the store's ``cache`` table (LLM answers)."""
    def get(key: str) -> str | None:
        row = store.conn.execute("SELECT value FROM cache WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def put(key: str, value: str) -> None:
        with store.transaction():
            store.conn.execute("INSERT OR REPLACE INTO cache(key, value, at) VALUES (?,?,?)",
                               (key, value, now_iso()))
    return get, put


def enrich(store: Store, contexts: Iterable[FigureContext], enrichers: list[Enricher], *,
           per_figure: int = 20, force: bool = False,
           progress: Callable[[int], None] | None = None,
           failures: dict[str, int] | None = None) -> dict[str, int]:
    """Write each enricher's descriptions of each context; returns new rows per enricher.

    Contexts already described by an enricher are skipped unless ``force`` or the enricher's
    settings (``per_figure``, an LLM's endpoint and model...) changed since: their
    descriptions are then replaced. One failing context is logged (and counted in
    ``failures``) and skipped; the rest go on. An ``EnricherUnavailable`` stops the run (what
    was written so far stays).
    """
    added = {e.name: 0 for e in enrichers}
    get, _ = store_cache(store)
    settings = {e.name: json.dumps({"per_figure": per_figure, **getattr(e, "settings", {})},
                                   sort_keys=True) for e in enrichers}
    for i, ctx in enumerate(contexts, 1):
        for e in enrichers:
            made_with = f"described:{e.name}:{ctx.patent_id}:{ctx.figure_key}"
            have = store.conn.execute(
                "SELECT 1 FROM descriptions WHERE patent_id=? AND figure_key=? AND enricher=? "
                "LIMIT 1", (ctx.patent_id, ctx.figure_key, e.name)).fetchone()
            # descriptions written with other settings (another LLM, more per drawing) are
            # replaced; those of an older version, which did not record them, are kept
            replace = force or (have and get(made_with) not in (None, settings[e.name]))
            if have and not replace:
                continue
            try:
                texts = e.describe(ctx, per_figure)
            except EnricherUnavailable:
                raise
            except Exception as exc:  # one bad answer must not stop a long run
                log.warning("%s %s %s: %s", e.name, ctx.patent_id, ctx.figure_key, exc)
                if failures is not None:
                    failures[e.name] = failures.get(e.name, 0) + 1
                continue
            at = now_iso()
            with store.transaction():
                if replace:
                    store.conn.execute("DELETE FROM descriptions WHERE patent_id=? AND "
                                       "figure_key=? AND enricher=?",
                                       (ctx.patent_id, ctx.figure_key, e.name))
                cur = store.conn.executemany(
                    "INSERT OR IGNORE INTO descriptions(patent_id, figure_key, enricher, text, "
                    "at) VALUES (?,?,?,?,?)",
                    [(ctx.patent_id, ctx.figure_key, e.name, t, at) for t in texts])
                added[e.name] += max(cur.rowcount, 0)
                store.conn.execute("INSERT OR REPLACE INTO cache(key, value, at) "
                                   "VALUES (?,?,?)", (made_with, settings[e.name], at))
        if progress is not None:
            progress(i)
    return added


def load_descriptions(store: Store, patent_ids: Iterable[str] | None = None,
                      enrichers: Iterable[str] | None = None) -> dict[tuple[str, str], list[str]]:
    """(patent_id, figure_key) -> descriptions, in insertion order."""
    sql = "SELECT patent_id, figure_key, enricher, text FROM descriptions"
    wanted_e = set(enrichers) if enrichers is not None else None
    wanted_p = set(patent_ids) if patent_ids is not None else None
    out: dict[tuple[str, str], list[str]] = {}
    for pid, key, enricher, text in store.conn.execute(sql + " ORDER BY id"):
        if wanted_e is not None and enricher not in wanted_e:
            continue
        if wanted_p is not None and pid not in wanted_p:
            continue
        out.setdefault((pid, key), []).append(text)
    return out
