"""The memorisation-to-generalisation sweep behind the paper's Figs. 1-5.

Models of each size are trained on nested subsets of one corpus (a geometric grid of
training-set sizes, from a handful of sequences to the whole training split), all with
the same number of optimiser steps, as in the paper, and each trained model is measured
by the paper's evaluation procedure. On the Markov corpus the exact Bayes model
(`uddm.references.ExactModel`) is measured by the same code at every training-set size
(model "bayes") and every figure draws it.

    uddm.sweep.config   SweepConfig (data: DataSpec, train: TrainConfig, grid, measurement),
                        Point, PRESETS / get_preset, the cache keys (model_key, measure_key,
                        exact_key), describe (the caption line)
    uddm.sweep.run      train_point, the units of the sweep engine (memkit.sweep),
                        run_units / run_sweep / run_exact / run_point, sweep_status
    uddm.sweep.measure  measure_model (every number of one model), measure_point,
                        measure_exact
    uddm.sweep.summary  summary_rows, write_summary (figures/uddm_summary.json),
                        ground_truth, probe_confusion, results_markdown
    uddm.sweep.figures  figure_command and caption for experiments/uddm_*.py, aggregate,
                        pick_regimes, failed_points
    uddm.sweep.options  the --preset and --cache options of `uddm sweep` and the scripts

Presets (`PRESETS`): `quick` (the tests; a few minutes on 2 cores), `cpu` (the default
figures; see docs/results-uddm.md for the measured time), `cpu-limit` (its successor:
three seeds, 10x the training, cosine decay, compiled steps),
`paper` (tiny/small/medium on a GPU). Every name is importable from `uddm.sweep` itself.
"""
from uddm.references import BigramDenoiser, reference_denoiser
from uddm.sweep.config import (DEFAULT_CACHE, DEFAULT_PRESET, EXACT, MEASURE_VERSION, PRESETS,
                               Point, SweepConfig, checkpoint_path, describe, exact_key,
                               exact_point, geometric_sizes, get_preset, measure_key,
                               measure_settings, model_key, sweep_data, sweep_train)
from uddm.sweep.figures import (aggregate, by_size, caption, error_note, failed_note, failed_points,
                                figure_command, legend_outside, model_results, pick_regimes,
                                seed_dots, size_colours)
from uddm.sweep.measure import ENTROPY_BINS, measure_exact, measure_model, measure_point
from uddm.sweep.run import (compute_point, exact_unit, point_unit, run_exact, run_point,
                            run_sweep, run_units, sweep_status, train_point)
from uddm.sweep.summary import (ground_truth, paired_difference, probe_confusion,
                                results_markdown, summary_rows, write_summary)

_paired = paired_difference          # the name before the split


def _train_config(cfg: SweepConfig, p: Point):
    """Deprecated spelling of `cfg.train_config(p)`."""
    return cfg.train_config(p)


def _data_spec(cfg: SweepConfig, p: Point):
    """Deprecated spelling of `cfg.data_spec(p)`."""
    return cfg.data_spec(p)


__all__ = ["model_results", "size_colours", "legend_outside", "failed_points", "failed_note",
           "SweepConfig", "PRESETS", "get_preset", "Point", "DEFAULT_CACHE", "train_point",
           "measure_point", "measure_model", "run_point", "run_sweep", "run_exact", "sweep_status",
           "run_units", "point_unit", "exact_unit", "compute_point",
           "BigramDenoiser", "reference_denoiser", "aggregate", "by_size", "seed_dots", "error_note",
           "describe", "pick_regimes",
           "MEASURE_VERSION", "geometric_sizes", "figure_command", "caption", "checkpoint_path",
           "write_summary", "summary_rows", "probe_confusion", "results_markdown", "EXACT",
           # names that were importable before the split, now listed too
           "model_key", "measure_key", "exact_key", "exact_point", "measure_exact",
           "ground_truth", "ENTROPY_BINS",
           # new
           "DEFAULT_PRESET", "measure_settings", "paired_difference", "sweep_data", "sweep_train"]
