"""Configuration is stated once: an `amsim` option that names a parameter of the
estimator or function it feeds has that parameter's default (click name -> Python name
below), so the command line and the API cannot drift apart."""
import inspect

import pytest

import amsim
from amsim import cli

# (command, {click parameter: (callable, its parameter)})
LINKS = {
    "train": {"beta": (amsim.PseudoLikelihoodMemory, "beta"), "steps": (amsim.PseudoLikelihoodMemory, "n_steps"),
              "solver": (amsim.PseudoLikelihoodMemory, "solver"),
              "schedule": (amsim.PseudoLikelihoodMemory, "schedule"),
              "lr": (amsim.PseudoLikelihoodMemory, "learning_rate"), "l2": (amsim.PseudoLikelihoodMemory, "l2"),
              "per_example": (amsim.RandomFeaturesModel, "features_per_example")},
    "census": {"delta": (amsim.attractor_census, "delta"), "mode": (amsim.attractor_census, "mode")},
    "basins": {"mode": (amsim.basin_curve, "mode")},
}


@pytest.mark.parametrize("command", sorted(LINKS))
def test_options_have_the_api_defaults(command):
    params = {p.name: p for p in cli.main.commands[command].params}
    for option, (fn, name) in LINKS[command].items():
        want = inspect.signature(fn).parameters[name].default
        assert option in params, f"amsim {command} has no option {option}"
        assert params[option].default == want, (
            f"amsim {command} --{option}: {params[option].default!r} vs {fn.__name__}({name}={want!r})")
