"""File-system names in records and messages: a name that is not valid UTF-8 (bytes from
another system, carried by Python as escapes) cannot be stored in SQLite as text; and the
names of people, studies and sessions, which must stay on one line."""
from __future__ import annotations

import unicodedata

NOT_UTF8 = ("its name is not valid UTF-8 (written on another system?): rename it, then add "
            "it again")


def storable(text: str) -> bool:
    """Whether a name the file system gave can be recorded (valid UTF-8; not one whose bytes
    Python could only carry as escapes)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def readable(text: object) -> str:
    """``text`` for a message or a record, its undecodable bytes shown as U+FFFD."""
    try:
        raw = str(text).encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = str(text).encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def normal_name(name: str) -> str:
    """An examiner, study or session name as kept and compared: trimmed, in Unicode's composed
    form (NFC), so that "Zoë" typed and "Zoë" pasted with a combining diaeresis are one."""
    return composed(name.strip())


def composed(text):
    """``text`` in Unicode's composed form (NFC), as names and titles are kept; anything not
    text as it is."""
    return unicodedata.normalize("NFC", text) if isinstance(text, str) else text


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be an examiner, study or session name (a line break or tab in it
    would split the history's table and the ratings' CSV rows), or None."""
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name):    # (U+2028, U+2029)
        return ("holds a line break, tab or other control character: give a name on one "
                "line")
    return None
