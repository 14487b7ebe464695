"""``python -m examiner_app [--library DIR] [--query IMAGE] [--before DATE]``: the window, as
``patent-examiner gui`` opens it."""
import sys

from core.cli import main

sys.exit(main(["gui", *sys.argv[1:]]))
