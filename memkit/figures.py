"""Writing experiment outputs: PNGs and the numbers behind them, atomically.

Every experiment script writes `figures/<name>.png` and `figures/<name>.json`
(the curves plotted, with the settings that produced them). Both go through
`memkit.io.atomic_write`, so a killed script never leaves half a file.
`figure_command` turns a `make(settings, results) -> (fig, data)` function into such a
script's command; each experiment family passes in how it loads its results and
describes its settings (`uddm.sweep.figure_command` is the UDDM sweep's). The drawing
helpers (`size_colours`, `legend_outside`, `caption`) are shared by the figures.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

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


# ---------------------------------------------------------------------------- drawing helpers
def size_colours(n: int):
    """n colours that stay distinguishable next to each other (tab10, then tab20)."""
    import matplotlib
    cmap = matplotlib.colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def legend_outside(fig, ax, **kw):
    """One legend for the figure, right of the axes grid (never on the data); labels once.

    `ax`: one axes, or several whose entries are gathered in order."""
    axes = [ax] if hasattr(ax, "get_legend_handles_labels") else list(ax)
    seen: dict = {}
    for a in axes:
        for h, l in zip(*a.get_legend_handles_labels()):
            seen.setdefault(l, h)
    return fig.legend(list(seen.values()), list(seen), loc="center left",
                      bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False, **kw)


def caption(fig, text: str, extra: str = "") -> None:
    """Put a settings line `text` (and `extra` on the next line) under a figure."""
    text = text + (f"\n{extra}" if extra else "")
    fig.text(0.5, -0.02, text, ha="center", va="top", fontsize=8, wrap=True)


# ---------------------------------------------------------------------------- figure scripts
class NotReady(Exception):
    """Raised by a figure's `load` when its inputs are not all there yet (e.g. one shard of
    a job array has computed its part): the command prints the message, exits 0 and
    draws nothing."""


def figure_command(name: str, doc: str, *, load: Callable, describe: Callable,
                   options: Sequence[Callable] = (), record: Callable | None = None,
                   extras: Callable | None = None):
    """Wrap `make(settings, results) -> (fig, data)` into the click command of a figure script.

    Each experiment family supplies its own parts (memkit knows none of them):

    - `options`: click decorators for the parameters of `load` (e.g. --preset, --cache);
    - `load(progress=bool, **options) -> (settings, results)`: check its own output
      paths, then compute or read what the figure draws (raise `NotReady` if incomplete);
    - `describe(settings, results) -> str`: the settings line, stored as "caption";
    - `record(settings, results) -> dict`: more JSON fields (the settings as a dict,
      computing times, ...);
    - `extras(settings, results, out) -> [Path]`: other files written next to the figure.

    The command takes --out (default figures/) and --no-progress besides `options`. It
    writes `<out>/<name>.png` (or `<name>_<key>.png` for each of a dict of figures) and
    `<out>/<name>.json`: {"figure", "caption", **record, "seconds" (wall time of load and
    make), **data}. `main.make` is `make`.
    """
    import click

    from memkit.cli import OneLineErrorCommand, one_line_errors
    from memkit.io import check_outputs

    def deco(make):
        @click.option("--out", type=click.Path(file_okay=False), default=str(FIGURES),
                      show_default=True, help="Folder for the PNG and its JSON.")
        @click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
        @one_line_errors
        def main(out, no_progress, **opts):
            check_outputs(**{"--out": Path(out) / f"{name}.png"})
            t0 = time.perf_counter()
            try:
                settings, results = load(progress=not no_progress, **opts)
            except NotReady as exc:
                click.echo(str(exc))
                return
            fig, data = make(settings, results)
            data = {"figure": name, "caption": describe(settings, results),
                    **(record(settings, results) if record else {}),
                    "seconds": time.perf_counter() - t0, **data}
            out = Path(out)
            if isinstance(fig, dict):       # several PNGs: <name>_<key>.png
                written = [save_figure(f, out / f"{name}_{k}.png") for k, f in fig.items()]
            else:
                written = [save_figure(fig, out / f"{name}.png")]
            written.append(save_data(out / f"{name}.json", data))
            written += list(extras(settings, results, out)) if extras else []
            names = [str(p) for p in written]
            click.echo(f"wrote {', '.join(names[:-1])} and {names[-1]}")

        for option in reversed(list(options)):
            main = option(main)
        main = click.command(name=name, help=doc, cls=OneLineErrorCommand,
                             context_settings={"max_content_width": 100})(main)
        main.make = make
        return main
    return deco
