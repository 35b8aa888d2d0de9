"""The sweep's configuration (uddm.sweep.config): cache keys pinned, flat names routed, CLI
defaults stated once.

The hashes below were computed with the code before `SweepConfig` nested its `DataSpec`
and `TrainConfig` (main at c0566a6). They name every cached checkpoint and measurement
and are recorded in every committed figure: a change here means every cache entry is
orphaned and every figure's provenance changes. Never update them to make a test pass.
"""
import importlib.util
import inspect
import warnings
from pathlib import Path

import click
import pytest

from memkit.io import config_hash
from uddm.data import DataSpec
from uddm.sweep import (DEFAULT_CACHE, DEFAULT_PRESET, PRESETS, SweepConfig, exact_key,
                        get_preset, measure_key, model_key, run_units)
from uddm.sweep import sweep_data, sweep_train
from uddm.train import TrainConfig

EXP = Path(__file__).resolve().parents[2] / "experiments"

# (preset, point index): (config_hash(model_key), config_hash(measure_key))
PINNED_POINTS = {
    ("quick", 0): ("3d27a56eb0640e85", "6b1cfb2d1f91ba21"),
    ("quick", 1): ("5a58bf25c1e4f1fe", "6731c59abde55f11"),
    ("quick", 4): ("bb79e95aace77c6d", "849dd68aad61972d"),
    ("quick", 7): ("af536186324bf33d", "2c006d8914b477f2"),
    ("cpu", 0): ("7e0dcc78925a0693", "2816425d688b644d"),
    ("cpu", 1): ("b119e02c721a0963", "573f881827ef31a2"),
    ("cpu", 8): ("a95a07fd0797ab86", "897be55dbe55a142"),
    ("cpu", 15): ("ed93f4049b50d496", "4e64414d286e3cfb"),
    ("paper", 0): ("25da8a49c2cff536", "923471aa5e7d6557"),
    ("paper", 1): ("c2658ef4dfa11e7b", "9e5d15496fac5986"),
    ("paper", 81): ("8fc84595f3e442e9", "53fb242ea329df63"),
    ("paper", 161): ("e24fbc3b99a796cb", "2f2204343430507a"),
}
# (preset, size index): config_hash(exact_key)
PINNED_EXACT = {("quick", 0): "4ee68698873f0ff6", ("quick", 3): "ff848cc39f41e9e1",
                ("cpu", 0): "1254bbb2025b3dfc", ("cpu", 7): "a4f5fa697fe50d9a",
                ("paper", 0): "7c2eef4466a67f99", ("paper", 53): "6d01a918078fc6dd"}
# config_hash(cfg.to_dict()): the "sweep" of every figure's JSON and of uddm_summary.json
PINNED_DICTS = {"quick": "ba1e67cc37860d12", "cpu": "c06c53db8f960c35",
                "paper": "83e2bf5cadfe24b8"}


@pytest.mark.parametrize("preset,index", sorted(PINNED_POINTS))
def test_model_and_measure_keys_are_those_of_every_cached_point(preset, index):
    cfg = PRESETS[preset]
    p = cfg.point(index)
    assert (config_hash(model_key(cfg, p)), config_hash(measure_key(cfg, p))) == \
        PINNED_POINTS[preset, index]


@pytest.mark.parametrize("preset,size_index", sorted(PINNED_EXACT))
def test_exact_keys_are_those_of_every_cached_exact_model(preset, size_index):
    assert config_hash(exact_key(PRESETS[preset], size_index)) == PINNED_EXACT[preset, size_index]


@pytest.mark.parametrize("preset", sorted(PINNED_DICTS))
def test_the_recorded_settings_are_unchanged(preset):
    assert config_hash(PRESETS[preset].to_dict()) == PINNED_DICTS[preset]


def test_overrides_give_the_keys_they_gave_before():
    """get_preset with flat training names (as uddm_ema_check and the tests pass them)."""
    cfg = get_preset("quick", steps=10, lr=1e-3, use_ema=True)
    p = cfg.point(2)
    assert config_hash(model_key(cfg, p)) == "4a9c3cc74f279926"
    assert config_hash(measure_key(cfg, p)) == "816b666010fce97b"
    assert config_hash(exact_key(cfg, 1)) == "7302f41b3b4c7c91"
    assert config_hash(cfg.to_dict()) == "3bc8d6585aac55bd"


def test_the_deprecated_flat_constructor_routes_and_keeps_the_keys():
    with pytest.warns(DeprecationWarning, match="data=DataSpec"):
        flat = SweepConfig(name="tiny", corpus="markov:16:3", length=8, n_test=8, markov_pool=200,
                           models=("cpu-xxs",), sizes=(12, 48), seeds=(0, 1), steps=6,
                           batch_size=4, warmup=2, ckpt_every=3, eval_batches=1, n_refs=8,
                           retrieval_steps=8, n_generated=8, generation_steps=8,
                           nelbo_batches=1, exp1_levels=(0.25,), exp2_times=(0.1, 0.25))
    nested = SweepConfig(
        name="tiny",
        data=DataSpec(corpus="markov:16:3", length=8, n_test=8, markov_pool=200),
        models=("cpu-xxs",), sizes=(12, 48), seeds=(0, 1),
        train=TrainConfig(steps=6, batch_size=4, lr=3e-3, warmup=2, ema=0.99, dropout=0.0,
                          eval_batches=1, ckpt_every=3),
        n_refs=8, retrieval_steps=8, n_generated=8, generation_steps=8, nelbo_batches=1,
        exp1_levels=(0.25,), exp2_times=(0.1, 0.25))
    assert flat == nested
    p = flat.point(3)
    assert config_hash(model_key(flat, p)) == "d310f396fe734d21"      # as before the nesting
    assert config_hash(measure_key(flat, p)) == "33e6f6a4af96a39b"
    assert config_hash(exact_key(flat, 1)) == "748ef8b3f5bcb911"
    assert config_hash(flat.to_dict()) == "f68664149deb9781"


def test_flat_names_read_and_replace_through_the_nested_configs():
    cfg = PRESETS["quick"]
    assert (cfg.steps, cfg.lr, cfg.corpus, cfg.length) == \
        (cfg.train.steps, cfg.train.lr, cfg.data.corpus, cfg.data.length) == (400, 3e-3, "markov:32:2", 16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                   # with_ and get_preset do not warn
        c = cfg.with_(steps=7, corpus="markov:16:3", n_refs=5)
        g = get_preset("quick", steps=7, lr=None)        # None: keep the preset's
    assert (c.train.steps, c.data.corpus, c.n_refs) == (7, "markov:16:3", 5)
    assert (g.train.steps, g.train.lr) == (7, 3e-3)
    assert cfg.train.steps == 400 and PRESETS["quick"].train.steps == 400     # copies
    assert hash(get_preset("quick")) == hash(cfg) and get_preset("quick") == cfg
    assert len({cfg, get_preset("quick"), c}) == 2                            # hashable
    with pytest.raises(AttributeError):
        cfg.steps = 3                                    # read-only, as the frozen fields
    # per point: the data's size and the model, seed and length of the training
    p = cfg.point(5)
    assert cfg.data_spec(p).n_train == p.n_train and cfg.data_spec(p).fraction is None
    tc = cfg.train_config(p)
    assert (tc.model, tc.seed, tc.length, tc.steps) == (p.model, p.seed, 16, 400)
    paper = PRESETS["paper"]
    spec = paper.data_spec(paper.point(5))
    assert spec.n_train is None and spec.fraction == paper.sizes[5]
    with pytest.raises(ValueError, match="sizes give them"):
        cfg.with_(data=DataSpec(n_train=4)).validate()


def test_the_sweep_defaults_are_stated_once():
    """SweepConfig() trains and reads data as `sweep_train()` / `sweep_data()` say."""
    cfg = SweepConfig()
    assert cfg.train == sweep_train() and cfg.data == sweep_data()
    assert cfg.to_dict()["steps"] == sweep_train().steps
    assert cfg.to_dict()["markov_pool"] == sweep_data().markov_pool


# ---------------------------------------------------------------------------- CLI defaults
def _figure_scripts():
    for path in sorted(EXP.glob("uddm_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        if hasattr(mod.main, "make"):                    # made by uddm.sweep.figure_command
            yield path.stem, mod.main


def _sweep_commands():
    from uddm.cli import main
    return [(f"uddm sweep {n}", c) for n, c in main.commands["sweep"].commands.items()]


def test_every_sweep_option_default_is_the_one_of_the_code_it_feeds():
    """Each option of `uddm sweep ...` and of the figure scripts defaults to what the
    library defaults to: a SweepConfig field's default, `run_units`' shard/workers, the
    preset and cache of uddm.sweep.config. A new option must be added here."""
    from memkit.figures import FIGURES
    run = inspect.signature(run_units).parameters
    config = {f: getattr(SweepConfig(), f) for f in SweepConfig().to_dict()}
    expected = {"preset": DEFAULT_PRESET, "cache": str(DEFAULT_CACHE),
                "workers": run["workers"].default, "shard": run["shard"].default,
                "no_progress": False, "out": str(FIGURES)}
    commands = _sweep_commands() + list(_figure_scripts())
    assert len(commands) >= 3 + 8
    for where, cmd in commands:
        for param in cmd.params:
            if param.name == "help" or param.required:      # required (--point): no default
                continue
            want = config[param.name] if param.name in config else expected.get(param.name, KeyError)
            if where == "uddm_limit" and param.name == "preset":   # the check of the successor
                from uddm.sweep.limit import LIMIT_PRESET
                want = LIMIT_PRESET
            assert want is not KeyError, f"{where}: option --{param.name} is not checked here"
            got = param.get_default(click.Context(cmd))
            assert got == want, f"{where}: --{param.name} defaults to {got!r}, the code to {want!r}"


def test_the_committed_figures_record_the_presets_as_they_are():
    """figures/uddm_*.json were made by their presets (cpu; cpu-limit for uddm_limit):
    its settings and caption line."""
    import json

    from uddm.sweep import describe
    paths = sorted((EXP.parent / "figures").glob("uddm_*.json"))
    recorded = [json.loads(p.read_text()) for p in paths]
    recorded = [(p, d) for p, d in zip(paths, recorded) if "sweep" in d]
    assert len(recorded) >= 9
    for path, doc in recorded:
        cfg = PRESETS[doc["preset"]]
        assert doc["sweep"] == cfg.to_dict(), path.name
        if path.name == "uddm_limit.json":      # the sweep's two ends only
            cfg = cfg.with_(sizes=(cfg.sizes[0], cfg.sizes[-1]))
        assert doc["caption"] == describe(cfg), path.name
