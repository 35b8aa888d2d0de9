#!/usr/bin/env python
"""Retrieval overlap against load: Hebb (with the Amit-Gutfreund-Sompolinsky curve) and
pseudo-likelihood (with Gardner's limit alpha = 2), at several N.

For each rule, size N and load alpha = P/N: store P random patterns, start the
asynchronous dynamics at stored patterns (exactly, and with a fraction --flip of their
bits flipped), run to a fixed point, and record the final overlap m = (1/N) xi . sigma.
Hebb's rule J = xi^T xi / N loses its retrieval states at alpha_c = 0.138 (AGS, replica
symmetric, infinite N; overlap 0.967 there); pseudo-likelihood (eq. 10, trained to near
zero loss by L-BFGS) keeps every stored pattern a fixed point up to Gardner's alpha_c = 2
for each row (N -> inf). Finite N blurs both edges. The measurements and the figure's
numbers are computed in `amsim.capacity_study`, the figure drawn by
`amsim.capacity_figures`; this script reads the options and runs the sweep.

    perceptron_margin.py's companion; writes figures/am_capacity.png and .json

    python experiments/am_capacity.py            # default settings (a few minutes)
    python experiments/am_capacity.py --quick    # small sizes (seconds; the tests)

Every (rule, N, load, seed) point is a unit of `memkit.sweep`, cached under --cache by its
configuration: `--workers k` computes them in k processes, `--shard i/n` one shard of a
job array (docs/sweeps.md).
"""
from __future__ import annotations

import time
from pathlib import Path

import click

from amsim import capacity_figures, capacity_study as study
from memkit import sweep
from memkit.cli import OneLineErrorCommand, one_line_errors, parse_number_list, quick_settings, sweep_options
from memkit.figures import FIGURES, REPO_ROOT, save_data, save_figure
from memkit.io import check_outputs

NAME = "am_capacity"


@click.command(cls=OneLineErrorCommand)
@click.option("--hebb-sizes", default="250,500,1000,2000", show_default=True)
@click.option("--hebb-loads", default="0.02,0.04,0.06,0.08,0.1,0.12,0.13,0.14,0.15,0.16,0.18,0.2,0.22,0.25",
              show_default=True)
@click.option("--pl-sizes", default="50,100,200", show_default=True)
@click.option("--pl-loads", default="0.5,1.0,1.25,1.5,1.75,1.9,2.0,2.1,2.25,2.5,3.0", show_default=True)
@click.option("--pl-iters", type=int, default=500, show_default=True, help="L-BFGS iteration cap for PL")
@click.option("--refs", type=int, default=100, show_default=True, help="stored patterns probed per network")
@click.option("--min-refs", type=int, default=200, show_default=True,
              help="more seeds (networks) where one network has fewer stored patterns than this")
@click.option("--flip", type=float, default=0.05, show_default=True, help="fraction of bits flipped in the corrupted starts")
@click.option("--max-sweeps", type=int, default=200, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=FIGURES, show_default=True)
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=REPO_ROOT / "cache" / NAME,
              show_default=True)
@click.option("--quick", is_flag=True, help="small sizes (seconds): what the tests run; options given "
              "on the command line are honoured")
@sweep_options
@one_line_errors
def main(hebb_sizes, hebb_loads, pl_sizes, pl_loads, pl_iters, refs, min_refs, flip, max_sweeps, seed, out,
         cache, quick, shard, workers):
    """Retrieval overlap vs load for Hebb (AGS curve) and PL (Gardner limit) at several N."""
    from amsim._validate import check_couplings_memory
    from memkit.validate import check_count, check_number
    o = quick_settings(quick, dict(hebb_sizes=hebb_sizes, hebb_loads=hebb_loads, pl_sizes=pl_sizes,
                                   pl_loads=pl_loads, pl_iters=pl_iters, refs=refs, min_refs=min_refs),
                       dict(hebb_sizes="100,400", hebb_loads="0.04,0.08,0.3", pl_sizes="40,80",
                            pl_loads="1.0,3.0", pl_iters=200, refs=40, min_refs=60))
    hebb_sizes, hebb_loads, pl_sizes, pl_loads = o["hebb_sizes"], o["hebb_loads"], o["pl_sizes"], o["pl_loads"]
    pl_iters, refs, min_refs = o["pl_iters"], o["refs"], o["min_refs"]
    hs, ps = parse_number_list(hebb_sizes, int, "--hebb-sizes"), parse_number_list(pl_sizes, int, "--pl-sizes")
    hl, pll = parse_number_list(hebb_loads, float, "--hebb-loads"), parse_number_list(pl_loads, float, "--pl-loads")
    for name, vals in (("--hebb-sizes", hs), ("--pl-sizes", ps)):
        for v in vals:
            check_count(name, v, minimum=10)
    for name, vals in (("--hebb-loads", hl), ("--pl-loads", pll)):
        for v in vals:
            check_number(name, v, 0.0, low_open=True)
    check_count("--pl-iters", pl_iters)
    check_count("--refs", refs, minimum=2)
    check_count("--min-refs", min_refs)
    check_count("--max-sweeps", max_sweeps)
    check_count("--seed", seed, minimum=0)
    flip = check_number("--flip", flip, 0.0, 0.5, high_open=True)
    check_outputs(**{"--out": Path(out) / f"{NAME}.png", "--cache": Path(cache) / "unit.json"})
    check_couplings_memory(max(hs), int(max(hl) * max(hs)) + 1, "hebb",
                           what=f"--hebb-sizes {max(hs)} with --hebb-loads {max(hl):g} (N x N couplings)")
    check_couplings_memory(max(ps), int(max(pll) * max(ps)) + 1, "pl", "lbfgs",
                           what=f"--pl-sizes {max(ps)} with --pl-loads {max(pll):g} (N x N couplings)")
    tasks, seeds = study.plan(hs, hl, ps, pll, pl_iters, refs, min_refs, flip, max_sweeps, seed)
    t0 = time.perf_counter()
    run = sweep.run([sweep.Unit(cfg, study.measure_point, (cfg,)) for _, cfg in tasks], cache, shard=shard,
                    workers=workers, desc=NAME, unit_name="point")
    if not run.complete:
        click.echo(f"{NAME}: {run.summary()}; run without --shard to draw the figure")
        return
    click.echo(f"{NAME}: {len(tasks)} points, {run.read} from the cache, {run.computed} computed "
               f"in {time.perf_counter() - t0:.1f} s; drawing into {out}")
    s = {"hebb_sizes": hs, "hebb_loads": hl, "pl_sizes": ps, "pl_loads": pll, "pl_iters": pl_iters, "refs": refs,
         "min_refs": min_refs, "flip": flip, "max_sweeps": max_sweeps, "seed": seed,
         "seeds": study.seed_summary(seeds), "seeds_per_point": seeds, "quick": quick, "beta": study.BETA}
    data = study.figure_data(study.collect(tasks, run.results), s)
    out.mkdir(parents=True, exist_ok=True)
    save_figure(capacity_figures.draw(data), out / f"{NAME}.png")
    save_data(out / f"{NAME}.json", data)
    click.echo(f"wrote {out / (NAME + '.png')} and {NAME}.json")


if __name__ == "__main__":
    main()
