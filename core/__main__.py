"""``python -m core ...``: the ``patent-examiner`` command line."""
import sys

from .cli import main

sys.exit(main())
