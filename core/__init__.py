"""Core library of patent-examiner: model runtime, drawing preprocessing, store, index, search.

Never imports Qt. The public API is re-exported here and imported on first use, so that
``import core`` stays cheap (no torch) for the command line's quick answers:

    import core
    with core.Library("library") as lib:
        response = core.Searcher(lib, lib.load_model()).search(core.SearchQuery(image="q.png"))
        for hit in response.results:
            print(hit.rank, hit.patent_id, hit.score)

Errors a caller meets: ``QueryError`` (``UnreadableQuery``: the image), ``ModelError``,
``ModelMismatchError`` (a library built with another model), ``LibraryError``,
``StoreError`` (its database), ``SourceError``; arguments of the wrong kind raise
``TypeError`` or ``ValueError`` when the query is made.
"""
from . import _env  # noqa: F401  (offline model hub before anything imports transformers)

from ._names import name_problem, normal_name  # noqa: E402

__version__ = "0.1.0"

#: Public name -> the module that defines it (imported when the name is first used). Adding
#: drawings is ``core.ingest.ingest`` (a function of the submodule's name: not re-exported).
_PUBLIC = {
    "Library": "library", "LibraryError": "library", "default_library_path": "library",
    "Searcher": "search", "SearchQuery": "search", "SearchResponse": "search",
    "SearchHit": "search", "QueryError": "search", "UnreadableQuery": "search",
    "ImageReadError": "imageio", "StoreError": "store", "ModelMismatchError": "index",
    "create_model": "models", "load_model": "models", "load_checkpoint": "models",
    "save_checkpoint": "models", "list_models": "models", "ModelError": "models",
    "PatentModel": "models",
    "scan_source": "sources", "SourceError": "sources",
}
__all__ = ["name_problem", "normal_name", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        import importlib

        value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
