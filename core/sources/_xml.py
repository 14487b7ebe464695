"""Safe XML for USPTO grant files: no DTD loading, no entity expansion, weekly files split.

Grant XML names a DTD file (``us-patent-grant-v45-2014-04-03.dtd``) that is not shipped with
it. The parser never reads it, refuses any entity declaration (so nothing can be expanded:
no "billion laughs", no external entities) and refuses references to undefined entities.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterator
from xml.parsers import expat

_DECLARATION = re.compile(rb"<\?xml[ \t\r\n?]")


class XMLError(ValueError):
    """A document that cannot be read safely; the message says why."""


def _refuse_entity_declaration(name, *_):
    raise XMLError(f"declares entity {name!r}; entity declarations are refused")


def _refuse_undefined_entity(name, *_):
    raise XMLError(f"uses undefined entity &{name};")


def parse_xml(data: bytes) -> ET.Element:
    """The element tree of one XML document (comments and processing instructions dropped)."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = _refuse_entity_declaration
    parser.SkippedEntityHandler = _refuse_undefined_entity
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        reason = expat.errors.messages.get(exc.code, str(exc))
        raise XMLError(f"malformed XML: {reason} (line {exc.lineno}, column {exc.offset})") \
            from None
    except (LookupError, UnicodeError, ValueError) as exc:   # e.g. encoding="TF-8"
        raise XMLError(f"unreadable XML: {exc}") from None
    return builder.close()


def iter_documents(path: Path) -> Iterator[tuple[int, bytes]]:
    """``(first line, bytes)`` of each document in a file; a weekly grant file concatenates
    thousands, each starting with its own ``<?xml ...?>`` declaration. Reads line by line."""
    chunk: list[bytes] = []
    start = 1
    with open(path, "rb") as f:
        for lineno, line in enumerate(f, 1):
            pos = 0
            for m in _DECLARATION.finditer(line):
                chunk.append(line[pos:m.start()])
                if _has_content(chunk):
                    yield start, b"".join(chunk)
                    chunk, start = [], lineno
                pos = m.start()
            chunk.append(line[pos:])
    if _has_content(chunk):
        yield start, b"".join(chunk)


def _has_content(chunk: list[bytes]) -> bool:
    return bool(b"".join(chunk).replace(b"\xef\xbb\xbf", b"").strip())
