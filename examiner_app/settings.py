"""Persistent settings (QSettings): last library, examiner, study and session ids, blind mode,
grouping, window geometry. Typed properties so callers never handle QSettings' strings."""
from __future__ import annotations

import getpass
import os
from datetime import date
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from core import name_problem, normal_name
from core.atomic import NO_ROOM, no_room

ORG, APP = "patent-examiner", "examiner"
USER_ENV = "PATENT_EXAMINER_USER"
#: read once per window, then its own: another window's study session must not change whom
#: this one logs searches and ratings for (QSettings' sync pulls in other processes' values)
OWN_KEYS = ("examiner", "study", "session", "blind")


def _truthy(value) -> bool:
    return value in (True, "true", "1", 1)


def session_or_today(typed: str) -> str:
    """A session id as typed, or today's date for none (each working day is a session)."""
    return typed.strip() or date.today().isoformat()


class Settings:
    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings if qsettings is not None else QSettings(ORG, APP)
        self._own: dict = {}
        self.on_unsaved = None      # called with save_problem()'s text when a change is lost

    def _get(self, key: str, default=None):
        if key in OWN_KEYS:
            if key not in self._own:
                self._own[key] = self.q.value(key, default)
            return self._own[key]
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
        if key in OWN_KEYS:
            self._own[key] = value
        self.q.setValue(key, value)
        self.q.sync()
        if self.q.status() != QSettings.Status.NoError and self.on_unsaved is not None:
            self.on_unsaved(self.save_problem())

    def save_problem(self) -> str | None:
        """Why changed settings would not outlive the window (the settings file cannot be
        written), else None."""
        file = Path(self.q.fileName())
        room = no_room(file.parent) if self.q.status() != QSettings.Status.NoError \
            and file.parent.is_dir() else None
        if room is not None:            # (Qt says "access error" for a full disk too)
            why, remedy = NO_ROOM[room]
            return (f"Settings cannot be saved to {file} now: {why}. {remedy.capitalize()}: "
                    "what you set is saved with your next change of a setting, or when the "
                    "window closes.")
        if file.is_dir():
            why = "it is a folder"
        elif self.q.status() == QSettings.Status.FormatError:
            why = "it is not a settings file Qt can read"
        elif self.q.status() == QSettings.Status.AccessError or (
                file.exists() and not os.access(file, os.W_OK)):
            why = "this user may not write it"
        else:
            folder = next((p for p in file.parents if p.exists()), None)
            if file.exists() or folder is None or os.access(folder, os.W_OK | os.X_OK):
                return None
            why = f"this user may not write in {folder}"
        return (f"Settings cannot be saved to {file} ({why}): the examiner, study session, "
                "library and window layout you set now last only until the window closes.")

    def examiner_problem(self) -> str | None:
        """Why $PATENT_EXAMINER_USER was not taken as the examiner (none set here), or None."""
        if self._name("examiner"):
            return None
        named = normal_name(os.environ.get(USER_ENV, ""))
        problem = name_problem(named) if named else None
        if not problem:
            return None
        return (f"${USER_ENV} ({named!r}) is not used as the examiner: it {problem}. "
                f"Searches and ratings are logged under {self.examiner!r} until you set the "
                "examiner (Study session\u2026).")

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
        named = normal_name(os.environ.get(USER_ENV, ""))
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
