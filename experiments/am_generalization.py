#!/usr/bin/env python
"""Memorisation to generalisation in a pseudo-likelihood associative memory.

D'Amico et al. 2026 (arXiv 2507.05147) and the associative-memory reading of
Pham et al. (arXiv 2604.26841, Figs. 1-2 and 4): train pseudo-likelihood (PL,
eq. 10) on P examples of a structured data model and sweep P at fixed
structure. At every P the same training budget is used (the same number of
full-batch gradient steps at the same beta, schedule and L2).

Two data models (amsim.patterns):
  * random features: D = alpha_D N hidden +-1 features, an example is
    sign(+-f_a +- f_b +- f_c) over L = 3 random features;
  * archetypes: K archetypes, M noisy copies of each (quality r), P = K M.

At each P (and seed) the trained network is measured (amsim.generalization,
where the science and its tests live; amsim.generalization_plots draws):
basins around training, unseen test and hidden features/archetypes (final
overlap against the flipped fraction, basin radius at overlap 0.95), total
conditional entropies (eq. 9, nats) and the census of attractors reached from
random starts (memorised / generalised / spurious / rare / not converged).

Figures (PNG + JSON with the same basename, in --out):
  am_generalization_basins.png     training vs test basins; radius vs P
  am_generalization_features.png   features / archetypes becoming attractors
  am_generalization_entropy.png    entropy histograms at three P
  am_generalization_census.png     attractor census vs P
  am_generalization_archetypes.png the archetype model: basins and census vs P

Every (model, P, seed) unit is cached (trained network as .npz, measurements as
JSON, both named by the configuration hash) in --cache, so an interrupted run
resumes and a repeated run only redraws the figures. The units run through
`memkit.sweep`: `--workers k` computes them in k processes, `--shard i/n` one shard of
a job array on a shared cache (docs/sweeps.md).

    python experiments/am_generalization.py              # defaults (minutes)
    python experiments/am_generalization.py --quick      # small sizes (seconds)
"""
from __future__ import annotations

import time
from pathlib import Path

import click

from amsim import generalization as gen
from amsim import generalization_plots as figs
from memkit import sweep
from memkit.cli import OneLineErrorCommand, one_line_errors, parse_number_list, sweep_options
from memkit.figures import FIGURES, save_data, use_agg

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = dict(
    n=300, alpha_d=0.05, features_per_example=3,
    alphas="0.05,0.1,0.15,0.2,0.3,0.4,0.6,0.8,1.2,1.6,2.0,3.0",
    archetypes=6, quality=0.5, per_archetype="1,2,3,4,6,8,12,16,24,32,48,64,100",
    seeds=3, steps=500, beta=0.1, schedule="constant", l2=0.0,
    refs=40, trials=4, fraction_step=0.025, max_fraction=0.45, starts=500, n_entropy=200,
    probe=0.15,
)
QUICK = dict(
    n=80, alpha_d=0.1, features_per_example=3,
    alphas="0.1,0.4,1.6",
    archetypes=4, quality=0.5, per_archetype="1,4,24",
    seeds=2, steps=200, beta=0.1, schedule="constant", l2=0.0,
    refs=20, trials=3, fraction_step=0.05, max_fraction=0.45, starts=100, n_entropy=60,
    probe=0.15,
)


def _floats(text, name):
    vals = parse_number_list(text, float, name)
    if any(v <= 0 for v in vals):
        raise click.BadParameter(f"{name} must hold positive numbers, got {text!r}")
    return vals


def check_options(o, out, cache_dir):
    """The options `o` checked (one-line errors naming the option), grids parsed to lists."""
    from amsim._validate import check_couplings_memory
    from memkit.io import check_outputs
    from memkit.validate import check_count, check_number
    check_count("-N/--n", o["n"], minimum=10)
    for opt, key, lo, hi, low_open in (("--alpha-d", "alpha_d", 0.0, None, True), ("--beta", "beta", 0.0, None, True),
                                       ("--l2", "l2", 0.0, None, False), ("--quality", "quality", 0.0, 1.0, False)):
        check_number(opt, o[key], lo, hi, low_open=low_open)
    for key in ("features_per_example", "archetypes", "seeds", "steps", "refs", "trials", "starts"):
        check_count("--" + key.replace("_", "-"), o[key])
    text = o["per_archetype"]
    o = dict(o, per_archetype=_floats(text, "--per-archetype"))
    if any(m != int(m) for m in o["per_archetype"]):
        raise click.BadParameter(f"--per-archetype must hold integers, got {text!r}")
    check_outputs(**{"--out": Path(out) / "am_generalization_features.png", "--cache": Path(cache_dir) / "unit.json"})
    o["alphas"] = _floats(o["alphas"], "--alphas")
    check_couplings_memory(o["n"], int(max(o["alphas"]) * o["n"]) + 1, "pl",
                           what=f"-N {o['n']} with --alphas up to {max(o['alphas']):g} (N x N couplings)")
    return o


@click.command(cls=OneLineErrorCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-N", "--n", "n", type=int, default=None, help="neurons [300; quick 80]")
@click.option("--alpha-d", type=float, default=None, help="alpha_D = D/N of the random-features model [0.05; quick 0.1]")
@click.option("--features-per-example", "L", type=int, default=None, help="L, features mixed per example [3]")
@click.option("--alphas", default=None, help="P/N grid, comma-separated [0.05,...,2.0; quick 0.1,0.4,1.6]")
@click.option("--archetypes", "K", type=int, default=None, help="K archetypes [6; quick 4]")
@click.option("--quality", type=float, default=None, help="archetype quality r (expected overlap of an example) [0.5]")
@click.option("--per-archetype", default=None, help="M grid (examples per archetype) [1,2,...,100; quick 1,4,24]")
@click.option("--seeds", type=int, default=None, help="independent data/network seeds [3; quick 2]")
@click.option("--steps", type=int, default=None, help="PL gradient steps, the same at every P [500; quick 200]")
@click.option("--beta", type=float, default=None, help="PL inverse temperature, also used for the entropies [0.1]")
@click.option("--schedule", type=click.Choice(["constant", "normalised"]), default=None, help="PL step schedule [constant]")
@click.option("--l2", type=float, default=None, help="L2 strength of PL [0]")
@click.option("--refs", type=int, default=None, help="references per set for the basins [40; quick 20]")
@click.option("--trials", type=int, default=None, help="corrupted copies per reference and fraction [4; quick 3]")
@click.option("--starts", type=int, default=None, help="random starts for the census [500; quick 100]")
@click.option("--model", type=click.Choice(["features", "archetypes", "both"]), default="both", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), default=str(FIGURES), show_default=True)
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False),
              default=str(ROOT / "cache" / "am_generalization"), show_default=True)
@click.option("--quick", is_flag=True, help="small sizes (what the tests run; seconds); options given "
              "on the command line are honoured")
@sweep_options
@one_line_errors
def main(n, alpha_d, L, alphas, K, quality, per_archetype, seeds, steps, beta, schedule, l2, refs, trials,
         starts, model, out, cache_dir, quick, shard, workers):
    """Memorisation to generalisation in a PL-trained associative memory (D'Amico et al. 2026)."""
    given = dict(n=n, alpha_d=alpha_d, features_per_example=L, alphas=alphas, archetypes=K, quality=quality,
                 per_archetype=per_archetype, seeds=seeds, steps=steps, beta=beta, schedule=schedule, l2=l2,
                 refs=refs, trials=trials, starts=starts)
    o = check_options({**(QUICK if quick else DEFAULTS), **{k: v for k, v in given.items() if v is not None}},
                      out, cache_dir)
    plan = gen.Plan.from_options(o, model)
    out, cache_dir = Path(out), Path(cache_dir)
    t0 = time.perf_counter()
    run = sweep.run([sweep.Unit(cfg, gen.measure_unit, (cfg, cache_dir)) for cfg in plan.units],
                    cache_dir, shard=shard, workers=workers, desc="am_generalization")
    if not run.complete:
        click.echo(f"am_generalization: {run.summary()}; run without --shard to draw the figures")
        return
    reports = gen.reports(plan, run.results, o["probe"])
    out.mkdir(parents=True, exist_ok=True)
    figs.draw_figures(use_agg(), reports, out)
    for name, data in gen.figure_data(reports).items():
        save_data(out / f"am_generalization_{name}.json", data)
    click.echo(f"{len(run.results)} units ({run.read} from the cache) in {time.perf_counter() - t0:.1f} s; "
               f"figures and data in {out}")
    for m, rep in reports.items():
        marks = ", ".join(f"{k} = {v:.0f}" if v is not None else f"{k}: not on the grid"
                          for k, v in rep.agg["markers"].items())
        click.echo(f"  {m}: {marks}")


if __name__ == "__main__":
    main()
