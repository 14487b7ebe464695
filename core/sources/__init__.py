"""Ingestion sources: metadata scans of manifests, USPTO Red Book folders, DeepPatent2 JSON and
image folders.

Grant archives (.tar, .zip of per-grant ZIPs) are unpacked into the library by ingestion
(``unpack_archive``) and then scanned as Red Book folders.

Every scan returns a ``core.records.SourceScan`` and decodes no image. Problems with one row,
document or file become ``scan.errors`` entries ``(where, reason)`` and the scan goes on;
only a path that does not exist or holds nothing usable raises ``SourceError``.

Page kinds (``PAGE_KINDS``): ``front_page`` is a whole front page (bibliographic text block
plus the representative figure); ``front_view`` is the representative figure alone, as the
Red Book ships it (``-D00000.TIF``, no text block); ``drawing_sheet`` is a numbered sheet.
"""
from ._archive import ARCHIVE_SUFFIXES, archives_in, is_archive, unpack_archive
from ._deeppatent2 import (deeppatent2_entries, deeppatent2_records, figure_number,
                           figure_sentence, image_candidates, record_field, scan_deeppatent2)
from ._dispatch import deeppatent2_files, holds_drawings, scan_source
from ._fields import (PAGE_KINDS, FieldError, SourceError, article_name, display_title,
                      parse_date, title_from_figures)
from ._files import decode_text
from ._folder import image_id, scan_folder
from ._ids import display_patent_id, is_us_patent_id, normalize_patent_id
from ._manifest import scan_manifest
from ._redbook import scan_redbook

__all__ = [
    "ARCHIVE_SUFFIXES", "PAGE_KINDS", "FieldError", "SourceError", "archives_in",
    "article_name", "decode_text", "deeppatent2_entries", "deeppatent2_files",
    "deeppatent2_records", "display_patent_id", "display_title", "figure_number",
    "figure_sentence", "holds_drawings", "image_candidates", "image_id", "is_archive",
    "is_us_patent_id", "normalize_patent_id", "parse_date", "record_field", "scan_deeppatent2",
    "scan_folder", "scan_manifest", "scan_redbook", "scan_source", "title_from_figures",
    "unpack_archive",
]
