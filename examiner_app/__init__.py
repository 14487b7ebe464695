"""The examiner desktop app (PySide6). All Qt code lives here; long work runs in workers."""
