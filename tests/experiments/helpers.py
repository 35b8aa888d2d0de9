"""Helpers shared by the experiment-script tests (import explicitly; not a conftest)."""
from __future__ import annotations

import math
from pathlib import Path

from tests.helpers import load_module

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def load_script(name: str):
    """Import experiments/<name>.py as a module (the scripts are not a package)."""
    return load_module(EXPERIMENTS / f"{name}.py", name)


def numbers(obj):
    """Every leaf of a nested JSON structure of dicts and lists."""
    if isinstance(obj, dict):
        for v in obj.values():
            yield from numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from numbers(v)
    else:
        yield obj


def check_curve(values):
    """A plotted curve is not empty and holds only finite numbers (no NaN, no None)."""
    vals = list(numbers(values))
    assert vals, "empty curve"
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in vals), "NaN/None in a plotted curve"
