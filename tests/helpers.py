"""Helpers shared across the test packages (import explicitly; not a conftest)."""
from __future__ import annotations

import importlib.util
from pathlib import Path


def load_module(path, name: str | None = None):
    """Import the Python file `path` as a module (scripts and course tools are not packages)."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
