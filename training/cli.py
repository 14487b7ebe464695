"""``patent-examiner train`` and ``patent-examiner enrich`` (contributed through the
``patent_examiner.commands`` entry point group; the core never imports this package)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from core.cli import (CliError, folder, non_negative_float, positive_int, read_patent_list,
                      unknown_patents_note)

EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def register(subparsers) -> None:
    """Add the ``train`` and ``enrich`` subcommands."""
    t = subparsers.add_parser("train", help="train the drawing encoder (contrastive, "
                                            "LLM/template-enriched text)",
                              description="Train the drawing encoder from a TOML config and "
                                          "export a model the library can use.")
    add_train_args(t)
    t.set_defaults(func=cmd_train)
    register_enrich(subparsers)


def register_enrich(subparsers) -> None:
    e = subparsers.add_parser("enrich", help="write enriched descriptions of a library's "
                                             "drawings into its database",
                              description="Write enriched text descriptions of a library's "
                                          "drawings into its database (training text).")
    e.add_argument("--library", metavar="DIR", type=folder,
                   help="library folder (default: the user data folder, or "
                        "$PATENT_EXAMINER_LIBRARY)")
    from .config import ENRICHER_NAMES

    e.add_argument("--enricher", action="append", choices=ENRICHER_NAMES,
                   help="enricher to run (repeatable; default: the --config's enrichers, "
                        "else template)")
    e.add_argument("--per-figure", type=positive_int,
                   help="descriptions per drawing (default: the --config's per_figure, "
                        "else 20)")
    e.add_argument("--config", metavar="FILE", help="take the [enrich] settings (enrichers, "
                   "per_figure, llm endpoint, captioner) from a training config; the options "
                   "given here win")
    e.add_argument("--base-url", help="llm: OpenAI-compatible endpoint, e.g. "
                                      "http://127.0.0.1:8080/v1")
    e.add_argument("--model", dest="llm_model", help="llm: model name")
    e.add_argument("--rpm", type=non_negative_float,
                   help="llm: requests per minute (0: no limit)")
    e.add_argument("--caption-model", metavar="DIR", help="caption: captioning model on disk")
    e.add_argument("--patents", metavar="FILE", help="only these patent ids (one per line)")
    e.add_argument("--force", action="store_true",
                   help="replace existing descriptions (an LLM is asked again, not read from "
                        "its cached answers)")
    e.add_argument("--json", action="store_true", help="print counts as JSON")
    e.set_defaults(func=cmd_enrich)


def add_train_args(p: argparse.ArgumentParser) -> None:
    from .config import builtin_configs

    p.add_argument("--config", required=True, metavar="FILE",
                   help="TOML training config, or the name of a built-in one ("
                        f"{', '.join(builtin_configs())})")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   type=_override,
                   help="override a config value (TOML syntax), e.g. optim.lr=1e-4")
    p.add_argument("--out", metavar="DIR", type=folder,
                   help="run folder (run.out_dir; the model goes to DIR/model)")
    p.add_argument("--no-resume", action="store_true", help="start over even if a "
                                                            "checkpoint exists")
    # (also after the subcommand: `patent-examiner train ... -v` as well as `-v train ...`)
    p.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                   help="log details, and show where an error came from")


def _override(text: str) -> str:
    """--set: the form is checked here (a usage error); the value when the config loads."""
    key, sep, _ = text.partition("=")
    if not sep or "." not in key or not all(part.strip() for part in key.split(".", 1)):
        raise argparse.ArgumentTypeError(f"expected SECTION.KEY=VALUE, got {text!r}")
    return text


def cmd_train(args) -> int:
    import logging

    from core.library import LibraryError

    from .config import ConfigError, first_line, load_config
    from .trainer import train

    from .enrich import EnricherUnavailable

    overrides = list(args.set)
    if args.out:        # the run folder holds the model too (a config's export_dir aside)
        overrides.append(f"run.out_dir={json.dumps(args.out)}")   # a TOML string too
        overrides.append(f"run.export_dir={json.dumps(str(Path(args.out) / 'model'))}")
    if args.no_resume:
        overrides.append("run.resume=false")
    try:
        cfg = load_config(args.config, overrides)
        logging.getLogger("training").setLevel(logging.INFO)
        result = train(cfg)
    except (ConfigError, EnricherUnavailable, LibraryError) as exc:   # (data.store: busy...)
        return _error(exc, EXIT_ERROR)
    except (ValueError, TypeError, KeyError, RuntimeError) as exc:
        if getattr(args, "verbose", False):
            raise
        return _error(f"{first_line(exc)} (-v shows where)", EXIT_ERROR)
    if result.export_dir is not None:
        print(f"trained {result.steps} steps; model written to {result.export_dir}",
              file=sys.stderr)
    return 0


def cmd_enrich(args) -> int:
    from .enrich import EnricherUnavailable, make_enricher

    try:
        names, per_figure, options = _enrich_settings(args)
        patents = read_patent_list(args.patents) if args.patents else None
    except (ValueError, CliError) as exc:       # a ConfigError or an unreadable patent list
        return _error(exc, EXIT_ERROR)
    enrichers = []
    for name in names:
        try:
            enrichers.append(make_enricher(name, options.get(name, {})))
        except (ValueError, TypeError) as exc:   # TypeError: an unknown [enrich.*] option
            return _error(exc, EXIT_USAGE)
    try:
        contexts, added, failures, refreshed, bare = _run_enrich(args, enrichers, patents,
                                                                 per_figure)
    except EnricherUnavailable as exc:
        return _error(f"{exc}; stopped (descriptions written so far are kept)", EXIT_ERROR)
    except CliError as exc:
        return _error(exc, EXIT_ERROR)
    if failures:
        bare = []               # (said below, with why)
    if args.json:
        print(json.dumps({"contexts": len(contexts), "added": added, "failed": failures,
                          "text_vectors_updated": refreshed, "nothing_to_describe": bare}))
    else:
        if bare:
            print(f"patent-examiner: note: no description of {len(bare)} patent(s): they have "
                  f"no title or Locarno class, and no figure description names the article "
                  f"(first: {', '.join(bare[:3])}); add a manifest or grant XML that gives them",
                  file=sys.stderr)
        n = len({c.patent_id for c in contexts})
        figures = sum(1 for c in contexts if c.figure_key)
        print(f"{n} patent(s) and {figures} numbered figure(s) looked at; new descriptions "
              "(several phrasings of each patent and figure): "
              + ", ".join(f"{k} {v}" for k, v in added.items())
              + (f"; text search vectors of {refreshed} patent(s) updated" if refreshed
                 else ""))
    if failures:
        lost = ", ".join(f"{k} {v}" for k, v in failures.items())
        return _error(f"drawings left undescribed: {lost} (the warnings above say why; run "
                      "again to retry them, the descriptions made are kept)", EXIT_ERROR)
    return 0


def _error(message, code: int) -> int:
    print(f"patent-examiner: error: {message}", file=sys.stderr)
    return code


def _enrich_settings(args) -> tuple[list[str], int, dict[str, dict]]:
    """The enrichers to run, descriptions per drawing and each enricher's options: the
    command line's over the config's [enrich] table over the defaults."""
    names, per_figure, options = ["template"], 20, {}
    if args.config:
        from .config import load_config

        cfg = load_config(args.config)
        names, per_figure = list(cfg.enrich.enrichers), cfg.enrich.per_figure
        options = {"llm": dict(cfg.enrich.llm), "caption": dict(cfg.enrich.caption)}
    llm = options.setdefault("llm", {})
    for key, value in (("base_url", args.base_url), ("model", args.llm_model),
                       ("requests_per_minute", args.rpm)):
        if value is not None:
            llm[key] = value
    if args.caption_model:
        options.setdefault("caption", {})["model_path"] = args.caption_model
    return args.enricher or names, args.per_figure or per_figure, options


def _run_enrich(args, enrichers: list, patents: list[str] | None, per_figure: int):
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    from core.library import Library, default_library_path

    from .enrich import EnricherUnavailable, contexts_from_store, enrich
    from .enrich._run import store_cache

    # the writer's lock: a second enrich would ask the endpoint again for every drawing the
    # first has not written yet, and a rebuild swapping a new database in would drop the rest
    with Library(args.library or default_library_path()) as lib, lib.write_lock():
        for e in enrichers:
            if e.name == "llm":
                e.cache, e.ask_again = store_cache(lib.store), args.force
        if patents is not None:
            unknown, note = unknown_patents_note(lib.store, patents, args.patents)
            if unknown and len(unknown) == len(patents):
                raise CliError(f"none of the {len(patents)} patent(s) of {args.patents} is in "
                               f"the library (first: {unknown[0]})")
            if unknown:
                print(note, file=sys.stderr)
        contexts = contexts_from_store(lib.store, patents,
                                       with_images=any(e.name == "caption" for e in enrichers))
        described = sorted({c.patent_id for c in contexts})
        bar = tqdm(total=len(contexts), desc="enriching", unit="drawing")
        failures: dict[str, int] = {}
        try:
            try:        # (a warning on a line of its own, above the bar, not on it)
                with logging_redirect_tqdm():
                    added = enrich(lib.store, contexts, enrichers, per_figure=per_figure,
                                   force=args.force, progress=lambda i: bar.update(i - bar.n),
                                   failures=failures)
            finally:
                bar.close()
        except EnricherUnavailable:
            _update_text_vectors(lib, described)     # for what was written before it stopped
            raise
        refreshed = _update_text_vectors(lib, described)
        # (an image folder's drawing, a DeepPatent2 sheet, figure sentences that name no
        # article: not a failure, but said)
        names = [e.name for e in enrichers]
        have = {pid for (pid,) in lib.store.conn.execute(
            f"SELECT DISTINCT patent_id FROM descriptions WHERE enricher IN "
            f"({','.join('?' * len(names))})", names)}
        bare = [pid for pid in described if pid not in have]
    return contexts, added, failures, refreshed, bare


def _update_text_vectors(lib, patent_ids: list[str]) -> int:
    """Embed the texts of the patents whose descriptions changed, so text and fused searches
    read them; returns how many. Patents whose texts are unchanged cost nothing (the model
    is loaded only when some changed)."""
    from core.index import IndexError_
    from core.library import LibraryError
    from core.models import ModelError
    from core.text_index import stale_texts, update_text_vectors

    if not patent_ids or lib.model_id is not None and not stale_texts(lib, lib.model_id,
                                                                         patent_ids):
        return 0
    try:
        model = lib.load_model()
    except (ModelError, LibraryError, IndexError_) as exc:      # moved, damaged, another
        raise CliError(f"the descriptions are kept, but text searches read them only once "
                       f"the library's model loads ({exc}); then run enrich again") from None
    return update_text_vectors(lib, model, patent_ids)


def main(argv: list[str] | None = None) -> int:
    """``python -m training --config FILE``: the train command on its own."""
    import logging

    p = argparse.ArgumentParser(prog="python -m training",
                                description="Train the drawing encoder.")
    add_train_args(p)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False)
                        else logging.WARNING)
    try:
        return cmd_train(args)
    except KeyboardInterrupt:       # torchrun interrupts every process: one of them says so
        if os.environ.get("RANK", "0") == "0":
            print("patent-examiner: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:          # --out naming a file, a folder not writable, a full disk
        where = f"{exc.filename}: " if exc.filename else ""
        return _error(f"{where}{exc.strerror or exc}", EXIT_ERROR)
