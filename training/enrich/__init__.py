"""Text enrichment: several detailed, alias-rich descriptions per drawing, cached in SQLite.

The paper had BLIP-2 caption each drawing and GPT-4 write ~20 descriptions from its metadata
(title, object name, view, Locarno class). Here enrichers are pluggable:

- ``template``: offline; object name and aliases from the title (resources/aliases.json), the
  view from the "FIG. n is a ... view" descriptions, the Locarno class and subclass titles.
- ``title``: the title alone (the "no enrichment" ablation).
- ``llm``: any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp server, ...).
- ``caption``: a captioning model on disk (off unless configured).

Output lands in the store's ``descriptions`` table (patent_id, figure_key, enricher, text);
``figure_key`` is ``"fig:N"`` for the figure numbered N (see training.views) and ``""`` for
the whole patent. Enriching again skips what is already there.
"""
from ._base import Enricher, EnricherUnavailable, FigureContext, make_enricher
from ._run import contexts_from_store, enrich, load_descriptions

__all__ = ["Enricher", "EnricherUnavailable", "FigureContext", "contexts_from_store", "enrich",
           "load_descriptions", "make_enricher"]
