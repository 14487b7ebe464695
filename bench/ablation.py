"""Cross-validated ablations of the training method on the data at hand (docs/results_training.md).

    python bench/ablation.py --config training/configs/default.toml --folds 4

Patent-level folds over the real patents (stratified by Locarno main class, fixed seed). For
each fold a model is trained on the other folds with each variant's settings; it embeds the
whole real library (the same crops ingestion indexes); the held-out fold's drawing sheets
query it. Metrics are core.evaluation's, patent level, averaged over folds: prior-art mAP
(same subclass / same class, filing-date cutoff) and same-design MRR@10, for the deployed
gallery (the whole library) and the strict one (held-out patents only). Variants:

  untrained     the recipe's start (training.trainer.build_model): ImageNet trunk + seeded
                projection, at the config's input size and test-time augmentation
  whiten_only   the recipe's starting point: projection = learned whitening, no training
  title_only    no enrichment: the title is the only text (L_clip + L_cls + L_cat, learned)
  clip_only     L_clip only (template enrichment)
  fixed         L_clip + L_cls + L_cat with fixed unit weights
  full          L_clip + L_cls + L_cat with learned uncertainty weights (the paper's method)
  full_design   full + a same-design contrastive term (views of one patent are positives)
  --per-application  also one query per held-out patent with all its sheets (prior art only;
                "<variant>, per application" rows)
  +text         any trained variant's scores fused with text: image cosine + w * text cosine,
                w tuned on the training folds' queries only; "(app weight)": w = what the
                app's search uses with the trained model: the weight the recipe's checkpoint
                carries (run.fusion_text), else core.search.DEFAULT_FUSION

Each variant is also compared with "untrained" on the same queries: the prior-art mAP ratio and
the same-design MRR@10 difference with 95 % intervals (query patents resampled within folds;
core.evaluation.bootstrap_ci), since ~55 query patents per fold make small gains noise.

All trained variants share the config's recipe (default.toml: frozen trunk, cached pooled
features, learned-whitening start) and differ only as listed. Every run's config and metrics
are written under --out (default runs/ablation): runs.jsonl (appended, each record with the
time its run started) and summary.json (this run's).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench._common import config_error, summary  # noqa: E402
from training.config import ConfigError, TrainConfig, apply_overrides, read_toml  # noqa: E402

VARIANTS = {
    "whiten_only": ["optim.epochs=0"],
    "title_only": ["enrich.enrichers=['title']", "loss.losses=['clip','cls','cat']"],
    "clip_only": ["loss.losses=['clip']"],
    "fixed": ["loss.weighting='fixed'", "loss.losses=['clip','cls','cat']"],
    "full": ["loss.losses=['clip','cls','cat']"],
    "full_design": ["loss.losses=['clip','cls','cat','design']"],
}
TEXT_WEIGHTS = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0]
KEYS = [("prior_art_subclass", "mAP"), ("prior_art_class", "mAP"), ("same_design", "MRR@10"),
        ("same_design", "mAP")]
# what the targets are stated in: prior-art as a ratio to untrained, same-design as a difference
CI_KEYS = [("prior_art_subclass", "mAP"), ("same_design", "MRR@10")]
# the paper's ablations: (without, with, what the step adds)
ABLATIONS = [("clip_only", "full", "the class losses L_cls + L_cat"),
             ("fixed", "full", "learned uncertainty weights"),
             ("title_only", "full", "enrichment"),
             ("full", "full_design", "the same-design term")]


def metrics(result) -> dict:
    out = {"n": result.counts}
    for task, m in KEYS:
        out[f"{task}/{m}"] = result.metrics.get(task, {}).get("patent", {}).get(m)
    # per scored query (its patent, its score), for the paired bootstrap against untrained
    out["per_query"] = {f"{task}/{m}": [[p, s[m]] for p, s in result.per_query.get(task, [])]
                        for task, m in CI_KEYS}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=summary(__doc__))
    p.add_argument("--config", default=str(REPO / "training/configs/default.toml"))
    p.add_argument("--set", action="append", default=[], help="config override for all runs")
    p.add_argument("--folds", type=_fold_count, default=4)
    p.add_argument("--fold-seed", type=int, default=0)
    names = ",".join(["untrained", *VARIANTS])
    p.add_argument("--variants", default=names, help=f"comma-separated, of {names} (default: "
                                                     "all)")
    p.add_argument("--text", default="full,full_design", help="variants also scored with text "
                                                           "fusion (of the same names; 'none': "
                                                           "no text scoring)")
    p.add_argument("--out", default="runs/ablation")
    p.add_argument("--per-application", action="store_true",
                   help="also score one query per held-out patent with all its sheets (as "
                        "`search --page all`; prior art only)")
    args = p.parse_args(argv)
    if args.text.strip().lower() == "none":
        args.text = ""
    for option in ("variants", "text"):
        given = [v.strip() for v in getattr(args, option).split(",") if v.strip()]
        unknown = [v for v in given if v not in names.split(",")]
        if unknown:
            p.error(f"--{option}: unknown variant {unknown[0]!r} (variants: {names})")
        setattr(args, option, ",".join(given))
    if not args.variants:
        p.error(f"--variants: name at least one variant (variants: {names})")

    try:
        return run(args)
    except ConfigError as exc:
        print(config_error("ablation", exc, argv), file=sys.stderr)
        return 1


def _fold_count(text: str) -> int:
    """--folds: a whole number, at least 2 (one fold would leave nothing to train on)."""
    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 2:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 2, not {text!r}")
    return k


def _num(value) -> str:
    """A metric for a table or a line: "–" for a fold or variant that scored no query."""
    return "–" if value is None else f"{value:.3f}"


def run(args) -> int:
    from core.search import DEFAULT_FUSION
    from training import distributed
    from training.augment import AugmentConfig
    from training.datacheck import check_sources
    from training.evaluate import embed_rows, eval_set, patent_texts, score
    from training.features import FeatureBank
    from training.folds import make_folds
    from training.textcache import TextCache
    from training.trainer import build_model, prepare_data, train

    raw = apply_overrides(read_toml(args.config), args.set)
    base = TrainConfig.from_dict(raw)
    split = base.features.split if base.features.split >= 0 else base.model.freeze_blocks
    if base.features.enabled and (base.model.freeze_blocks < 0 or
                                  split > base.model.freeze_blocks):
        raise ConfigError("features.enabled needs model.freeze_blocks >= 0 and "
                          "features.split <= model.freeze_blocks")
    check_sources(base.data)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    model0 = build_model(base)
    corpus = prepare_data(base, model0, distributed.Dist(), enrichers=sorted(
        set(base.enrich.enrichers) | {"title"}))
    bank = None         # a recipe that trains the whole trunk runs on the crops
    if base.features.enabled:
        bank = FeatureBank.build(model0, corpus, base.data.cache_dir, freeze_blocks=split,
                                 views=base.features.views,
                                 aug=AugmentConfig.from_dict(base.augment),
                                 seed=base.model.seed)
    es = eval_set(corpus, base.data.sources)
    folds = make_folds(corpus, args.folds, args.fold_seed)
    if args.folds > len(folds):
        raise ConfigError(f"--folds {args.folds} is more than the {len(folds)} patents that "
                          f"can be held out: every fold past them would score nothing; give "
                          f"--folds {len(folds)} or fewer")
    texts = TextCache(model0, "cpu", base.data.cache_dir)
    # what the app's search weighs the title with: the weight the checkpoint carries, if any
    app_weight = base.run.fusion_text or DEFAULT_FUSION["text"]
    ptexts = patent_texts(es, texts)
    print(f"prepared in {time.perf_counter() - t0:.0f} s: {len(corpus)} figures, "
          f"{len(es.rows)} in the real library, {len(es.queries)} query sheets", flush=True)

    results: dict = {}
    log = open(out / "runs.jsonl", "a")       # (every run's: "run" tells them apart)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for variant in args.variants.split(","):
        for fold in range(args.folds):
            held = {p for p, f in folds.items() if f == fold}
            train_pat = {p for p, f in folds.items() if f != fold}
            t = time.perf_counter()
            if variant == "untrained":
                model = build_model(base)      # the recipe's start: arch, input size, TTA
                cfg_dict = {"model": base.to_dict()["model"]}
            else:
                cfg = TrainConfig.from_dict(apply_overrides(raw, VARIANTS[variant] + [
                    f"data.folds={args.folds}", f"data.fold={fold}",
                    f"data.fold_seed={args.fold_seed}", "run.resume=false",
                    "run.progress=false", f"run.out_dir='{out / variant / f'fold{fold}'}'"]))
                rows = corpus.select(exclude=held)
                model = train(cfg, corpus=corpus, rows=rows, bank=bank).model
                cfg_dict = cfg.to_dict()
            # The bank's prefix is only valid while training left it frozen.
            frozen = bank is not None and (variant == "untrained" or (
                cfg.features.enabled and cfg.model.freeze_blocks >= bank.freeze_blocks))
            vectors = embed_rows(model, corpus, es.rows, bank if frozen else None)
            rec = {"run": started, "folds": args.folds, "variant": variant, "fold": fold,
                   "config": cfg_dict,
                   "train_seconds": round(time.perf_counter() - t, 1),
                   "deployed": metrics(score(es, vectors, held)),
                   "strict": metrics(score(es, vectors, held, strict=True))}
            if args.per_application:
                rec["deployed_app"] = metrics(score(es, vectors, held, per="application"))
            if variant in args.text.split(","):
                tuned = {w: score(es, vectors, train_pat, text=(ptexts, texts), weight=w)
                         for w in TEXT_WEIGHTS}
                best = max(TEXT_WEIGHTS, key=lambda w: (tuned[w].metrics.get(
                    "prior_art_subclass", {}).get("patent", {}).get("mAP", 0), -w))
                rec["text_weight"] = best
                rec["deployed_text"] = metrics(score(es, vectors, held, text=(ptexts, texts),
                                                     weight=best))
                rec["deployed_text_app"] = metrics(score(es, vectors, held, text=(ptexts, texts),
                                                         weight=app_weight))
            log.write(json.dumps(rec) + "\n")
            log.flush()
            results.setdefault(variant, []).append(rec)
            d = rec["deployed"]
            print(f"{variant:<12} fold {fold}: "
                  f"prior-art mAP {_num(d['prior_art_subclass/mAP'])} "
                  f"same-design MRR@10 {_num(d['same_design/MRR@10'])} "
                  f"({rec['train_seconds']:.0f} s)", flush=True)
    summary = summarize(results)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(table(summary, args))
    return 0


def summarize(results: dict) -> dict:
    out = {}
    for variant, recs in results.items():
        for gallery in ("deployed", "strict", "deployed_text", "deployed_text_app",
                        "deployed_app"):
            if gallery not in recs[0]:
                continue
            name = variant + {"deployed_text": "+text",
                              "deployed_text_app": "+text (app weight)",
                              "deployed_app": ", per application"}.get(gallery, "")
            row = out.setdefault(name, {})
            for key in [f"{t}/{m}" for t, m in KEYS]:
                vals = [r[gallery][key] for r in recs if r[gallery][key] is not None]
                row[f"{gallery.split('_')[0]}:{key}"] = float(np.mean(vals)) if vals else None
            row[f"{gallery.split('_')[0]}:n_scored"] = {
                t: int(sum(r[gallery]["n"].get(t, 0) for r in recs)) for t, _ in KEYS}
            if gallery == "deployed_text":
                row["text_weights"] = [r["text_weight"] for r in recs]
            if "untrained" in results and variant != "untrained":
                row[f"{gallery.split('_')[0]}:vs_untrained"] = paired(
                    results["untrained"], recs, gallery)
    # the paper's ablations, each as a paired comparison of two variants
    for base, variant, what in ABLATIONS:
        if base in results and variant in results:
            out.setdefault("ablations", {})[what] = {
                "from": base, "to": variant,
                **paired(results[base], results[variant], "deployed")}
    return out


def paired(base: list[dict], recs: list[dict], gallery: str) -> dict:
    """95 % intervals (patent bootstrap within folds) of the prior-art ratio and the
    same-design difference of ``recs`` to ``base`` (the untrained model, or the variant
    without an ablation step) on the same queries."""
    from core.evaluation import bootstrap_ci

    ref = "deployed_app" if gallery == "deployed_app" else \
        "strict" if gallery == "strict" else "deployed"
    out = {}
    by_fold = lambda rs: sorted(rs, key=lambda x: x["fold"])  # noqa: E731
    for (task, m), ratio in zip(CI_KEYS, (True, False)):
        key = f"{task}/{m}"
        folds = []
        for b, r in zip(by_fold(base), by_fold(recs)):
            qa, qb = b[ref]["per_query"][key], r[gallery]["per_query"][key]
            if [p for p, _ in qa] != [p for p, _ in qb]:
                raise ValueError("the variants scored other queries; no paired comparison")
            folds.append([(p, a, v) for (p, a), (_, v) in zip(qa, qb)])
        if all(folds):
            est, low, high = bootstrap_ci(folds, ratio=ratio)
            if not any(len({p for p, _, _ in f}) >= 2 for f in folds):
                low = high = None   # (one patent a fold, resampled: an interval of no width)
            out[f"{key} {'ratio' if ratio else 'difference'}"] = (est, low, high)
    return out


def _with_interval(v) -> str:
    """"1.22 [0.97, 1.56]", or the estimate and why it has no interval."""
    if v[1] is None:
        return f"{v[0]:.3f} (no interval: each fold scored one query patent)"
    return f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"


def table(summary: dict, args) -> str:
    head = ("| model | prior-art mAP (subclass) | prior-art mAP (class) | same-design MRR@10 | "
            "strict prior-art mAP | strict same-design MRR@10 |\n|---|---|---|---|---|---|")
    lines = [head]
    f = _num
    for name, row in summary.items():
        if name == "ablations":
            continue
        lines.append(f"| {name} | {f(row.get('deployed:prior_art_subclass/mAP'))} | "
                     f"{f(row.get('deployed:prior_art_class/mAP'))} | "
                     f"{f(row.get('deployed:same_design/MRR@10'))} | "
                     f"{f(row.get('strict:prior_art_subclass/mAP'))} | "
                     f"{f(row.get('strict:same_design/MRR@10'))} |")
    cis = [(name, key, v) for name, row in summary.items() if name != "ablations"
           for key, v in row.get("deployed:vs_untrained", {}).items()]
    if cis:
        lines += ["", "against untrained (same queries; 95 % interval, query patents resampled "
                  "within folds):"]
        lines += [f"  {name}: {key} {_with_interval(v)}" for name, key, v in cis]
    steps = summary.get("ablations", {})
    if steps:
        lines += ["", "the paper's ablations (the variant with the step against the one without, "
                  "same queries, same intervals):"]
        lines += [f"  {what} ({d['from']} -> {d['to']}): {key} {_with_interval(v)}"
                  for what, d in steps.items() for key, v in d.items()
                  if key not in ("from", "to")]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
