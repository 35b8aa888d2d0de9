"""The command-line options of a sweep, stated once for `uddm sweep ...` and the figure scripts.

`preset_option` (--preset, default `DEFAULT_PRESET`), `cache_option` (--cache, default
`DEFAULT_CACHE`) and `memkit.cli.sweep_options` (--shard i/n, --workers k, with the
defaults of `run_units`). tests/uddm/test_sweep_config.py checks every option of these
commands against the defaults it stands for.
"""
from __future__ import annotations

import click

from uddm.sweep.config import DEFAULT_CACHE, DEFAULT_PRESET, PRESETS

__all__ = ["preset_option", "cache_option"]

# not a click.Choice: `get_preset` names a bad preset (one line), and presets added at
# run time (tests) are accepted
preset_option = click.option(
    "--preset", default=DEFAULT_PRESET, show_default=True,
    help=f"Sweep preset: {' | '.join(PRESETS)} (quick: minutes, the tests; cpu: the default "
         f"figures; paper: the paper's models on a GPU).")
cache_option = click.option(
    "--cache", type=click.Path(file_okay=False), default=str(DEFAULT_CACHE), show_default=True,
    help="Sweep cache (checkpoints and measurements), shared by every process and shard.")
