#!/usr/bin/env python
"""Memorised, spurious and generalised stable points of a denoiser trained on n points of
the unit circle (the 2D toy of Pham et al. 2025, arXiv 2505.21777).

For each n and seed: draw n training points on the unit circle, train a small MLP by
denoising score matching at one noise level sigma, find the stable points of
x <- D(x) = x + sigma^2 s(x) from a grid of starts, and classify them (memorised,
spurious, generalised; docs/science-am.md, "Dense associative memory"). The same census
of the exact empirical score, the dense-associative-memory update at beta = 1/sigma^2
(eq. D6), is the reference an infinitely good network would reach. The claim tested:
spurious stable points peak between the memorising and the generalising phase. The
numbers are computed in `amsim.circle_study`, the figure drawn by `amsim.circle_figures`.

    writes figures/dense_circle.png and .json

    python experiments/dense_circle.py            # default settings (about 3 minutes on one core)
    python experiments/dense_circle.py --quick    # small sizes (seconds; the tests)

Every (n, seed) model is a unit of `memkit.sweep`, cached under --cache by its
configuration: `--workers k` computes them in k processes, `--shard i/n` one shard of a
job array (docs/sweeps.md).
"""
from __future__ import annotations

import time
from pathlib import Path

import click

from amsim import circle_figures, circle_study as study
from memkit import sweep
from memkit.cli import OneLineErrorCommand, one_line_errors, parse_number_list, quick_settings, sweep_options
from memkit.figures import FIGURES, REPO_ROOT, save_data, save_figure
from memkit.io import check_outputs

NAME = "dense_circle"


@click.command(cls=OneLineErrorCommand)
@click.option("--n-values", default="2,4,8,12,16,24,32,48,64", show_default=True, help="training-set sizes n")
@click.option("--seeds", type=int, default=4, show_default=True, help="seeds (training sets and networks) per n")
@click.option("--seed", type=int, default=0, show_default=True, help="first seed")
@click.option("--sigma", type=float, default=0.2, show_default=True, help="noise level of training and dynamics")
@click.option("--hidden", type=int, default=64, show_default=True, help="width of the two hidden layers")
@click.option("--steps", type=int, default=3000, show_default=True, help="Adam steps per network")
@click.option("--batch", type=int, default=256, show_default=True)
@click.option("--lr", type=float, default=2e-3, show_default=True)
@click.option("--grid", type=int, default=25, show_default=True, help="starts per side of the grid on [-1.5, 1.5]^2")
@click.option("--max-iter", type=int, default=5000, show_default=True)
@click.option("--tol", type=float, default=1e-10, show_default=True, help="a start has converged when its step is below this")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=FIGURES, show_default=True)
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=REPO_ROOT / "cache" / NAME,
              show_default=True)
@click.option("--quick", is_flag=True, help="small sizes (seconds): what the tests run; options given on the "
              "command line are honoured")
@sweep_options
@one_line_errors
def main(n_values, seeds, seed, sigma, hidden, steps, batch, lr, grid, max_iter, tol, out, cache, quick, shard,
         workers):
    """Stable points of a circle-trained denoiser (network and exact DAM) against n."""
    from memkit.validate import check_count, check_number
    o = quick_settings(quick, dict(n_values=n_values, seeds=seeds, steps=steps, grid=grid),
                       dict(n_values="2,8,32", seeds=2, steps=300, grid=11))
    ns = parse_number_list(o["n_values"], int, "--n-values")
    for v in ns:
        check_count("--n-values", v, minimum=1, maximum=4096)
    if len(set(ns)) != len(ns) or ns != sorted(ns):
        raise ValueError(f"--n-values must be increasing without repeats, got {o['n_values']!r}")
    s = {"n_values": ns, "seeds": list(range(check_count("--seed", seed, minimum=0),
                                             seed + check_count("--seeds", o["seeds"]))),
         "sigma": check_number("--sigma", sigma, 0.0, 2.0, low_open=True),
         "hidden": check_count("--hidden", hidden, maximum=4096), "steps": check_count("--steps", o["steps"]),
         "batch": check_count("--batch", batch), "lr": check_number("--lr", lr, 0.0, 1.0, low_open=True),
         "grid": check_count("--grid", o["grid"], minimum=2, maximum=200),
         "max_iter": check_count("--max-iter", max_iter), "tol": check_number("--tol", tol, 0.0, 1.0, low_open=True),
         "quick": quick}
    s.update(r_mem=study.R_MEM_SIGMA * s["sigma"], r_off=study.R_OFF_SIGMA * s["sigma"],
             dedup=study.DEDUP_SIGMA * s["sigma"], version=study.VERSION)
    check_outputs(**{"--out": Path(out) / f"{NAME}.png", "--cache": Path(cache) / "unit.json"})
    keys = ("sigma", "hidden", "steps", "batch", "lr", "grid", "max_iter", "tol")
    cfgs = [{"v": study.VERSION, **{k: s[k] for k in keys}, "n": n, "seed": k} for n in ns for k in s["seeds"]]
    t0 = time.perf_counter()
    run = sweep.run([sweep.Unit(cfg, study.measure_model, (cfg,)) for cfg in cfgs], cache, shard=shard,
                    workers=workers, desc=NAME, unit_name="model")
    if not run.complete:
        click.echo(f"{NAME}: {run.summary()}; run without --shard to draw the figure")
        return
    click.echo(f"{NAME}: {len(cfgs)} models, {run.read} from the cache, {run.computed} computed "
               f"in {time.perf_counter() - t0:.1f} s; drawing into {out}")
    results = run.results
    data = study.figure_data(results, s)
    out.mkdir(parents=True, exist_ok=True)
    save_figure(circle_figures.draw(data), out / f"{NAME}.png")
    save_data(out / f"{NAME}.json", data)
    for kind in ("network", "exact"):
        pk = data["peak"][kind]
        click.echo(f"{kind}: spurious peak {'yes' if pk['peak'] else 'no'} (max {pk['max']:.2f} at n = "
                   f"{pk['n_at_max']})")
    click.echo(f"wrote {out / (NAME + '.png')} and {NAME}.json")


if __name__ == "__main__":
    main()
