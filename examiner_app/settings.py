"""Persistent settings (QSettings): last library, examiner, study and session ids, blind mode,
grouping, window geometry. Typed properties so callers never handle QSettings' strings."""
from __future__ import annotations

import getpass
import os
from datetime import date
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from core import name_problem, normal_name

ORG, APP = "patent-examiner", "examiner"


def _truthy(value) -> bool:
    return value in (True, "true", "1", 1)


def session_or_today(typed: str) -> str:
    """A session id as typed, or today's date for none (each working day is a session)."""
    return typed.strip() or date.today().isoformat()


class Settings:
    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings if qsettings is not None else QSettings(ORG, APP)

    def _get(self, key: str, default=None):
        return self.q.value(key, default)

    def _text(self, key: str) -> str:
        """A stored text; "" for none, or for a value of another kind (a settings file edited
        by hand: a list where a comma went unquoted, a size, bytes), never to be used as a
        name or path."""
        value = self._get(key, "")
        return value if isinstance(value, str) else ""

    def _name(self, key: str) -> str:
        """A stored examiner, study or session name; "" for one not on one line (edited by
        hand), which the audit log would refuse."""
        value = normal_name(self._text(key))
        return "" if name_problem(value) else value

    def _set(self, key: str, value) -> None:
        self.q.setValue(key, value)
        self.q.sync()

    @property
    def library(self) -> Path | None:
        value = self._text("library")
        return Path(value) if value else None

    @library.setter
    def library(self, path: Path | None) -> None:
        self._set("library", str(path) if path else "")

    @property
    def examiner(self) -> str:
        value = self._name("examiner")
        if value:
            return value
        named = normal_name(os.environ.get("PATENT_EXAMINER_USER", ""))
        if named and not name_problem(named):   # (as the command line names its searcher)
            return named
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "examiner"

    @examiner.setter
    def examiner(self, name: str) -> None:
        self._set("examiner", normal_name(name))

    @property
    def study(self) -> str:
        return self._name("study")

    @study.setter
    def study(self, value: str) -> None:
        self._set("study", normal_name(value))

    @property
    def session(self) -> str:
        """The session id; defaults to today's date, so each working day is a session."""
        return session_or_today(self.session_typed)

    @session.setter
    def session(self, value: str) -> None:
        self._set("session", normal_name(value))

    @property
    def session_typed(self) -> str:
        """The session id as the examiner set it ("" while it follows today's date)."""
        return self._name("session")

    @property
    def blind(self) -> bool:
        return _truthy(self._get("blind", False))

    @blind.setter
    def blind(self, on: bool) -> None:
        self._set("blind", bool(on))

    @property
    def group_by_patent(self) -> bool:
        return _truthy(self._get("group_by_patent", True))

    @group_by_patent.setter
    def group_by_patent(self, on: bool) -> None:
        self._set("group_by_patent", bool(on))

    @property
    def last_folder(self) -> str:
        return self._text("last_folder") or str(Path.home())

    @last_folder.setter
    def last_folder(self, folder: str) -> None:
        self._set("last_folder", folder)

    def geometry(self) -> tuple[QByteArray | None, QByteArray | None]:
        """The window's saved geometry and state (None each where none, or not Qt's bytes)."""
        return tuple(v if isinstance(v, QByteArray) else None
                     for v in (self._get("window/geometry"), self._get("window/state")))

    def save_geometry(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self._set("window/state", state)
