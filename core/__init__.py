"""Core library of patent-examiner: model runtime, drawing preprocessing, store, index, search.

Never imports Qt. The public API is re-exported here as it lands.
"""
from . import _env  # noqa: F401  (offline model hub before anything imports transformers)

from ._names import name_problem  # noqa: E402

__version__ = "0.1.0"
__all__ = ["name_problem"]
