#!/usr/bin/env python
"""One neuron's row of couplings is a perceptron; pseudo-likelihood is its cross-entropy
training (the paper's section 3.1; D'Amico et al. 2026).

On random +-1 patterns at several loads alpha = P/N this script trains the rows of J by
pseudo-likelihood gradient descent (eqs. 10, 11), computes the exact max-margin rows
independently (AdaTron, `amsim.max_margin_couplings`) and the separability of rows near
alpha = 2 (a linear-programming feasibility test, `amsim.row_separable`), and compares
everything with Gardner's theory (`amsim.theory`). Each row has N - 1 inputs, so the
theory is evaluated at the load per row alpha' = P / (N - 1). The measurements and the
numbers of each figure are computed in `amsim.margin_study`, the figures drawn by
`amsim.margin_figures`; this script reads the options and runs the sweep.

Figures (each PNG has a JSON file with the same basename holding the plotted numbers):

    perceptron_margin_training.png      min margin of the rows vs gradient step (both
                                        schedules), the gap to the exact max margin, and
                                        the row norm growing like log t (constant step)
    perceptron_margin_capacity.png      max margin vs load for several N on Gardner's
                                        alpha_c(kappa); fraction of separable rows near 2
    perceptron_margin_gradient.png      Hebbian and margin terms of eq. 11; the weight
                                        1 - tanh(beta D) concentrating on the least stable
                                        patterns
    perceptron_margin_stabilities.png   stabilities after long training vs Gardner's law
    perceptron_margin_basins.png        basins of Hebb and PL networks; radius vs margin

Every unit of work (one trained network with its measurements, one max-margin solve,
one separability test, one Hebbian basin curve) is a unit of `memkit.sweep`, cached under
--cache by its configuration, so an interrupted run resumes and a repeated run only
redraws; `--workers k` computes them in k processes, `--shard i/n` one shard of a job
array (docs/sweeps.md).

    python experiments/perceptron_margin.py            # default settings (a few minutes)
    python experiments/perceptron_margin.py --quick    # small sizes (seconds; the tests)
"""
from __future__ import annotations

import time
from pathlib import Path

import click

from amsim import margin_figures, margin_study as study
from memkit import sweep
from memkit.cli import OneLineErrorCommand, one_line_errors, parse_number_list, quick_settings, sweep_options
from memkit.figures import FIGURES, REPO_ROOT, save_data, save_figure
from memkit.io import check_outputs

NAME = "perceptron_margin"


@click.command(cls=OneLineErrorCommand)
@click.option("--n", "N", type=int, default=200, show_default=True, help="neurons for the training, stability and basin panels")
@click.option("--loads", default="0.5,1.0,1.5", show_default=True, help="loads alpha = P/N for the training panels")
@click.option("--steps", type=int, default=10000, show_default=True, help="constant-step gradient-descent steps")
@click.option("--norm-steps", type=int, default=3000, show_default=True, help="normalised-step gradient-descent steps")
@click.option("--cap-sizes", default="50,100,200", show_default=True, help="N for the max-margin-vs-load panel")
@click.option("--cap-loads", default="0.25,0.5,0.75,1.0,1.25,1.5", show_default=True)
@click.option("--sep-sizes", default="25,50,100", show_default=True, help="N for the separability panel")
@click.option("--sep-loads", default="1.5,1.75,1.9,2.0,2.1,2.25,2.5", show_default=True)
@click.option("--rows-per-point", type=int, default=200, show_default=True,
              help="max-margin rows per (N, load): seeds = ceil(this / N)")
@click.option("--sep-rows", type=int, default=150, show_default=True,
              help="rows tested for separability per (N, load), at most 50 per network")
@click.option("--basin-loads", default="0.05,0.1,0.25,0.5", show_default=True, help="loads for Hebb vs PL basins")
@click.option("--refs", "n_refs", type=int, default=40, show_default=True, help="reference patterns per basin curve")
@click.option("--trials", "n_trials", type=int, default=4, show_default=True, help="corrupted copies per reference and fraction")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=FIGURES, show_default=True)
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=REPO_ROOT / "cache" / NAME,
              show_default=True)
@click.option("--quick", is_flag=True, help="small sizes (seconds): what the tests run; options given "
              "on the command line are honoured")
@sweep_options
@one_line_errors
def main(N, loads, steps, norm_steps, cap_sizes, cap_loads, sep_sizes, sep_loads, rows_per_point, sep_rows,
         basin_loads, n_refs, n_trials, seed, out, cache, quick, shard, workers):
    """Perceptron view of pseudo-likelihood: margins, capacity, gradient terms, stabilities, basins."""
    from amsim._validate import check_couplings_memory
    from memkit.validate import check_count, check_number
    o = quick_settings(quick, dict(N=N, loads=loads, steps=steps, norm_steps=norm_steps, cap_sizes=cap_sizes,
                                   cap_loads=cap_loads, sep_sizes=sep_sizes, sep_loads=sep_loads,
                                   rows_per_point=rows_per_point, sep_rows=sep_rows, basin_loads=basin_loads,
                                   n_refs=n_refs, n_trials=n_trials),
                       dict(N=60, loads="0.5,1.0", steps=2000, norm_steps=600, cap_sizes="30,60",
                            cap_loads="0.5,1.0", sep_sizes="30,60", sep_loads="1.5,2.0,2.5",
                            rows_per_point=120, sep_rows=60, basin_loads="0.1,0.5", n_refs=15, n_trials=3))
    N, loads, steps, norm_steps = o["N"], o["loads"], o["steps"], o["norm_steps"]
    cap_sizes, cap_loads, sep_sizes, sep_loads = o["cap_sizes"], o["cap_loads"], o["sep_sizes"], o["sep_loads"]
    rows_per_point, sep_rows, basin_loads = o["rows_per_point"], o["sep_rows"], o["basin_loads"]
    n_refs, n_trials = o["n_refs"], o["n_trials"]
    loads_l, cap_l, sep_l, basin_l = (parse_number_list(x, float, name) for x, name in (
        (loads, "--loads"), (cap_loads, "--cap-loads"), (sep_loads, "--sep-loads"), (basin_loads, "--basin-loads")))
    cap_n = parse_number_list(cap_sizes, int, "--cap-sizes")
    sep_n = parse_number_list(sep_sizes, int, "--sep-sizes")
    check_count("--n", N, minimum=10)
    for name, vals in (("--cap-sizes", cap_n), ("--sep-sizes", sep_n)):
        for v in vals:
            check_count(name, v, minimum=10)
    for name, vals in (("--loads", loads_l), ("--cap-loads", cap_l), ("--sep-loads", sep_l),
                       ("--basin-loads", basin_l)):
        for v in vals:
            check_number(name, v, 0.0, low_open=True)
    check_count("--steps", steps, minimum=10)
    check_count("--norm-steps", norm_steps, minimum=10)
    for name, v in (("--rows-per-point", rows_per_point), ("--sep-rows", sep_rows), ("--refs", n_refs),
                    ("--trials", n_trials)):
        check_count(name, v)
    check_count("--seed", seed, minimum=0)
    check_outputs(**{"--out": Path(out) / f"{NAME}_basins.png", "--cache": Path(cache) / "unit.json"})
    big = max([N] + cap_n + sep_n)
    check_couplings_memory(big, int(max(loads_l + cap_l + sep_l + basin_l) * big) + 1, "pl",
                           what=f"N = {big} with loads up to {max(loads_l + cap_l + sep_l + basin_l):g} "
                                f"(--n, --cap-sizes, --sep-sizes: N x N couplings)")
    s = study.settings(N=N, loads=loads_l, steps=steps, norm_steps=norm_steps, cap_sizes=cap_n, cap_loads=cap_l,
                       sep_sizes=sep_n, sep_loads=sep_l, rows_per_point=rows_per_point, sep_rows=sep_rows,
                       basin_loads=basin_l, n_refs=n_refs, n_trials=n_trials, seed=seed, quick=quick)
    tasks = study.plan(s)  # (group, key, kind, cfg): cfg is the unit's cache key
    t0 = time.perf_counter()
    run = sweep.run([sweep.Unit(dict(cfg, kind=kind), study.compute_unit, (kind, cfg)) for *_, kind, cfg in tasks],
                    cache, shard=shard, workers=workers, desc=NAME)
    if not run.complete:
        click.echo(f"{NAME}: {run.summary()}; run without --shard to draw the figures")
        return
    click.echo(f"{NAME}: {len(tasks)} units, {run.read} from the cache, {run.computed} computed "
               f"in {time.perf_counter() - t0:.1f} s; drawing figures into {out}")
    data = study.figure_data(study.collect(tasks, run.results), s)
    out.mkdir(parents=True, exist_ok=True)
    for name, fig in margin_figures.draw(data).items():
        save_figure(fig, out / f"{NAME}_{name}.png")
        save_data(out / f"{NAME}_{name}.json", data[name])
    click.echo(f"wrote {', '.join(f'{NAME}_{x}.png/.json' for x in data)}")


if __name__ == "__main__":
    main()
