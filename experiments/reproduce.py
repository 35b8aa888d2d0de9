"""Reproduce every figure of the project, associative memory and diffusion model.

    python experiments/reproduce.py            # every figure at quick scale (minutes on a laptop CPU)
    python experiments/reproduce.py --full     # the default settings behind the PNGs in figures/

Quick-scale figures go to figures/quick/ (so the committed full-scale PNGs
stay as they are); --full writes to figures/. Each experiment caches its
units of work under cache/, so an interrupted run resumes where it stopped.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import click

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
from memkit.cli import OneLineErrorCommand  # noqa: E402
AM_SCRIPTS = ("perceptron_margin.py", "am_capacity.py", "am_generalization.py")
UDDM_SCRIPTS = tuple(f"uddm_fig{i}.py" for i in range(1, 6)) + (
    "uddm_census.py", "uddm_entropy_hist.py", "uddm_examples.py")


def commands(full: bool, out: Path, cache: Path) -> list[list[str]]:
    """The command line of every experiment script at the chosen scale."""
    cmds = []
    for script in AM_SCRIPTS:
        c = [sys.executable, str(HERE / script), "--out", str(out), "--cache", str(cache / Path(script).stem)]
        cmds.append(c if full else c + ["--quick"])
    for script in UDDM_SCRIPTS:
        cmds.append([sys.executable, str(HERE / script), "--preset", "cpu" if full else "quick",
                     "--out", str(out), "--cache", str(cache / "uddm_sweep")])
    return cmds


@click.command(cls=OneLineErrorCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--full", is_flag=True, help="Default settings (AM about 15 min, the UDDM sweep up to an hour "
                                           "on 2 cores) instead of the quick scale (minutes).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the PNGs and their data [default: figures/quick, or figures with --full].")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Cache folder [default: cache/quick, or cache with --full].")
def main(full: bool, out: Path | None, cache: Path | None):
    """Run every experiment script and say where the figures are."""
    out = out or (ROOT / "figures" if full else ROOT / "figures" / "quick")
    cache = cache or (ROOT / "cache" if full else ROOT / "cache" / "quick")
    start = time.perf_counter()
    for cmd in commands(full, out, cache):
        name = Path(cmd[1]).name
        click.echo(f"[{time.perf_counter() - start:6.0f} s] {name} ...", err=True)
        proc = subprocess.run(cmd, cwd=ROOT)
        if proc.returncode != 0:
            click.echo(f"Error: {name} failed with exit status {proc.returncode}", err=True)
            sys.exit(1)
    pngs = sorted(out.glob("*.png"))
    click.echo(f"done in {time.perf_counter() - start:.0f} s: {len(pngs)} figures in {out}")
    for p in pngs:
        click.echo(f"  {p}")


if __name__ == "__main__":
    main()
