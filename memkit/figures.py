"""Writing experiment outputs: PNGs and the numbers behind them, atomically.

Every experiment script writes `figures/<name>.png` and `figures/<name>.json`
(the curves plotted, with the settings that produced them). Both go through
`memkit.io.atomic_write`, so a killed script never leaves half a file.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from memkit.io import atomic_write, atomic_write_json

REPO_ROOT = Path(__file__).resolve().parents[1]
FIGURES = REPO_ROOT / "figures"


def use_agg():
    """Select matplotlib's file backend (no display needed) and return pyplot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save a matplotlib figure as PNG at `path` atomically and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_write(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def save_data(path: str | os.PathLike, data: Any) -> Path:
    """Save the numbers behind a figure as JSON at `path` atomically."""
    path = Path(path)
    atomic_write_json(path, data)
    return path
