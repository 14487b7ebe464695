"""Procedural synthetic design-patent drawings for tests, the demo library, training and
scale benchmarks.

Every design is a 3D object from one of the product families (each mapped to its Locarno
subclass), drawn in the seven standard views of a US design patent with hidden lines removed,
optional surface shading and broken-line environment. Everything is deterministic for a seed
and independent of call order. See docs/synthetic.md.

    p = generate_patent(12)                    # SyntheticPatent, 7 views at 1024 px
    q = generate_patent(99, family=p.family)   # another design of the same kind
    pages = render_sheets(p)                   # drawing sheets with header and FIG labels
    write_corpus("demo", 300, workers=2)       # PNG pages + manifest.jsonl like real data
    text_page(3)                               # a page of printed text (a specification)
"""
from ._corpus import save_png, write_corpus, write_queries
from ._families import FAMILIES, Family
from ._mesh import DETAIL, ENV, GLASS, SHADE, Mesh, box, merge, revolve
from ._patent import QUERY_INDEX_START, SyntheticPatent, design, generate_patent, patent_id
from ._render import VIEWS, render as render_view
from ._sheets import SHEET_SIZE, render_sheets
from ._text import text_page

__all__ = [
    "DETAIL", "ENV", "FAMILIES", "Family", "GLASS", "Mesh", "QUERY_INDEX_START", "SHADE",
    "SHEET_SIZE", "SyntheticPatent", "VIEWS", "box", "design", "generate_patent", "merge",
    "patent_id", "render_sheets", "render_view", "revolve", "save_png", "write_corpus",
    "text_page", "write_queries",
]
