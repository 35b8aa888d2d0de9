"""Configuration is stated once: every `uddm` option that names a field of the
dataclasses (or a parameter of the function it calls) has that field's default, so the
command line and the API cannot drift apart. A new option that restates a default
differently fails here."""
import dataclasses
import inspect

import pytest

from uddm import cli, sample
from uddm.data import DataSpec
from uddm.train import TrainConfig

RENAMED = {"split_mode": "split"}        # click name -> dataclass field


def _defaults(cls):
    return {f.name: f.default for f in dataclasses.fields(cls)
            if f.default is not dataclasses.MISSING}


def test_train_options_have_the_dataclass_defaults():
    train, data = _defaults(TrainConfig), _defaults(DataSpec)
    checked = []
    for p in cli.train.params:
        name = RENAMED.get(p.name, p.name)
        if name in train:        # TrainConfig first: it owns length (None: the model's)
            assert p.default == train[name], f"--{p.name}: {p.default!r} vs TrainConfig.{name} = {train[name]!r}"
        elif name in data:
            assert p.default == data[name], f"--{p.name}: {p.default!r} vs DataSpec.{name} = {data[name]!r}"
        else:
            continue
        checked.append(name)
    assert len(checked) >= 20, checked   # the check really covers the options


@pytest.mark.parametrize("command, function", [(cli.recover, sample.retrieve), (cli.sample, sample.generate)],
                         ids=["recover", "sample"])
def test_retrieval_options_have_the_function_defaults(command, function):
    sig = inspect.signature(function).parameters
    checked = []
    for p in command.params:
        if p.name in sig and sig[p.name].default is not inspect.Parameter.empty and p.name != "device":
            assert p.default == sig[p.name].default, (
                f"uddm {command.name} --{p.name}: {p.default!r} vs {function.__name__}({p.name}="
                f"{sig[p.name].default!r})")
            checked.append(p.name)
    assert len(checked) >= 2, checked
