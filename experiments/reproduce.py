"""Reproduce every figure of the project, associative memory and diffusion model.

    python experiments/reproduce.py            # every figure at quick scale (minutes on a laptop CPU)
    python experiments/reproduce.py --full     # the default settings behind the PNGs in figures/

    python experiments/reproduce.py --gallery-only --out figures   # only rewrite figures/index.md

Quick-scale figures go to figures/quick/ (so the committed full-scale PNGs
stay as they are); --full writes to figures/. Each experiment caches its
units of work under cache/, so an interrupted run resumes where it stopped.

At the end an index page, `index.md`, is written beside the PNGs: every figure
with its caption, its key number and the paper's or theory's value
(`experiments/gallery.py`); a figure that is missing is listed as missing.

Progress: when the output is not a terminal (a log, a pipe), a line appears at
least every 30 s ($MEMKIT_STATUS_EVERY): the scripts' own status lines (the
sweep engine's, the training loop's), or "still running <script> (N s)" while a
script prints nothing. On a terminal the scripts draw their bars.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from memkit.cli import OneLineErrorCommand
from memkit.progress import run_reporting

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AM_SCRIPTS = ("perceptron_margin.py", "am_capacity.py", "am_generalization.py", "dense_circle.py")
BRIDGE_SCRIPTS = ("bridge.py",)            # both memories on the same data
UDDM_SCRIPTS = tuple(f"uddm_fig{i}.py" for i in range(1, 6)) + (
    "uddm_census.py", "uddm_entropy_hist.py", "uddm_examples.py")
LIMIT_SCRIPTS = ("uddm_limit.py",)         # the sweep's two ends, trained to the limit


def default_workers() -> int:
    """The cores this process may use: one single-threaded worker per core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                      # not on Linux
        return max(1, os.cpu_count() or 1)


def commands(full: bool, out: Path, cache: Path, workers: int = 1) -> list[list[str]]:
    """The command line of every experiment script at the chosen scale."""
    cmds = []
    for script in AM_SCRIPTS + BRIDGE_SCRIPTS:
        c = [sys.executable, str(HERE / script), "--out", str(out), "--cache", str(cache / Path(script).stem),
             "--workers", str(workers)]
        cmds.append(c if full else c + ["--quick"])
    for script in UDDM_SCRIPTS + LIMIT_SCRIPTS:        # one sweep: the limit check reuses its two ends
        cmds.append([sys.executable, str(HERE / script), "--preset", "cpu-limit" if full else "quick",
                     "--out", str(out), "--cache", str(cache / "uddm_sweep"), "--workers", str(workers)])
    return cmds


@click.command(cls=OneLineErrorCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--full", is_flag=True, help="Default settings (AM about 15 min, the UDDM cpu-limit sweep about 6 "
                                           "hours on 2 cores, resumable) instead of the quick scale "
                                           "(minutes).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the PNGs and their data [default: figures/quick, or figures with --full].")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cache folder [default: cache/quick, or cache with --full].")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Single-threaded worker processes per script (every unit runs on one thread) "
                   "[default: one per core].")
@click.option("--gallery-only", is_flag=True,
              help="Run no experiment: only (re)write index.md from the PNGs and JSON "
                   "files already in the output folder.")
def main(full: bool, out: Path | None, cache: Path | None, workers: int | None, gallery_only: bool):
    """Run every experiment script, write the gallery index.md and say where the figures are."""
    out = out or (ROOT / "figures" if full else ROOT / "figures" / "quick")
    cache = cache or (ROOT / "cache" if full else ROOT / "cache" / "quick")
    start = time.perf_counter()
    if not gallery_only:
        for cmd in commands(full, out, cache, workers or default_workers()):
            name = Path(cmd[1]).name
            click.echo(f"[{time.perf_counter() - start:6.0f} s] {name} ...", err=True)
            status = run_reporting(cmd, label=name, cwd=ROOT)
            if status != 0:
                click.echo(f"Error: {name} failed with exit status {status}", err=True)
                sys.exit(1)
    elif not out.is_dir():
        raise click.UsageError(f"--out {out} is not a folder of figures")
    index = write_index(out, "full" if full or out.resolve() == (ROOT / "figures").resolve()
                        else "quick")
    pngs = sorted(out.glob("*.png"))
    click.echo(f"done in {time.perf_counter() - start:.0f} s: {len(pngs)} figures in {out}, "
               f"index {index}")
    for p in pngs:
        click.echo(f"  {p}")


def write_index(out: Path, scale: str) -> Path:
    """The gallery page `out/index.md` (experiments/gallery.py)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("_reproduce_gallery", HERE / "gallery.py")
    gallery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gallery)
    return gallery.write_index(out, scale)


if __name__ == "__main__":
    main()
