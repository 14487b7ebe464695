"""``patent-examiner gui``: registered with the core CLI through the entry-point group
``patent_examiner.commands`` (the core never imports the GUI)."""
from __future__ import annotations

from pathlib import Path

from core.cli import folder, iso_date


def register(subparsers) -> None:
    p = subparsers.add_parser("gui", help="open the examiner desktop app")
    p.add_argument("--library", metavar="DIR", type=folder,
                   help="library folder (default: $PATENT_EXAMINER_LIBRARY, else the last "
                        "one used, else the one in the user data folder)")
    p.add_argument("--query", metavar="IMAGE", type=Path,
                   help="a drawing to search with at start")
    p.add_argument("--before", metavar="YYYY-MM-DD", type=iso_date,
                   help="filing date: only prior art granted before it")
    p.set_defaults(func=run)


def run(args) -> int:
    from . import launch

    # (absolute: the window remembers it, and is started again from other folders)
    library = Path(args.library).expanduser().absolute() if args.library else None
    return launch(library, args.query, args.before)
