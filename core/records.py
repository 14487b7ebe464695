"""Plain records passed between ingestion sources, the store and the index."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ._names import composed


@dataclass
class PatentRecord:
    """Bibliographic data of one design patent (or of an undated image of unknown origin)."""

    patent_id: str                      # canonical id: "D0906013", "SYN-000123", "IMG-..."
    title: str | None = None
    grant_date: date | None = None      # None = undated: excluded by any date cutoff
    filing_date: date | None = None
    priority_date: date | None = None
    locarno: str | None = None          # "NN-NN" subclass, or "NN" when only the class is known
    locarno_edition: str | None = None
    figure_descriptions: list[str] = field(default_factory=list)
    country: str = "US"
    synthetic: bool = False
    extra: dict = field(default_factory=dict)   # application number, citations, origin, ...

    def __post_init__(self):
        # one Unicode form, as names are kept: "Crème" composed and decomposed (a Mac's file
        # name, another source's text) is one title, not a difference to correct
        self.title = composed(self.title)
        if self.locarno is None:        # (the edition of a class not given, or not one)
            self.locarno_edition = None
        self.figure_descriptions = [composed(d) for d in self.figure_descriptions]
        if isinstance(self.extra.get("title_display"), str):
            self.extra["title_display"] = composed(self.extra["title_display"])


@dataclass
class PageRecord:
    """One page (frame) of a drawing file, belonging to a patent."""

    patent_id: str
    path: Path                          # absolute path of the file
    page_index: int = 0                 # frame within a multi-page TIFF / PDF
    page_kind: str | None = None        # "front_page" (bibliographic block + figure),
    #                                     "front_view" (Red Book D00000: the figure alone),
    #                                     "drawing_sheet", or None (unknown)
    sheet: int | None = None


@dataclass
class SourceScan:
    """What a source holds, before any image is decoded."""

    kind: str                           # "manifest", "redbook", "folder", ...
    root: Path                          # what the scan's relative paths are relative to
    patents: dict[str, PatentRecord] = field(default_factory=dict)
    pages: list[PageRecord] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)    # (path or row, reason)
    warnings: list[str] = field(default_factory=list)
    #: the path that was scanned (a manifest file, one image, a folder), registered as the
    #: library's source so that updating it scans exactly that again; None: ``root``
    source: Path | None = None
    #: the source as it was named to ``scan_sources`` (a folder, a link), which its skipped
    #: items are recorded under
    named: str | None = None
    #: patents it gives no grant date (what the library makes of them is said by ingest)
    undated: list[str] = field(default_factory=list)
