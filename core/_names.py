"""File-system names in records and messages: a name that is not valid UTF-8 (bytes from
another system, carried by Python as escapes) cannot be stored in SQLite as text."""
from __future__ import annotations

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
