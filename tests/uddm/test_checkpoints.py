"""Published checkpoints: Lightning .ckpt of the DUO code base and Hugging Face exports.

Every file here is built in the real layout (a Lightning checkpoint as DUO's trainer
writes it: `state_dict`, `ema`, `optimizer_states`, `loops`, `epoch`, `global_step`
and `hyper_parameters` holding a real OmegaConf DictConfig and a tokenizer object;
an export folder with config.json and model.safetensors) and saved with plain
`torch.save` / safetensors, offline.

Tolerance of the logit checks: the loaded model and the reference are the same `DiT`
code with the same float32 weights, so only float32 round-off could separate them
(kernel choice between two model instances); 1e-5 absolute on logits of order 1-10 is
a few float32 ulps at that scale, and anything wrong (a transposed or misplaced weight,
a wrong head count or length) moves logits by O(0.1) or more.
"""
import copy
import json
import os
import sys
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from uddm.checkpoints import Placeholder, load_any, read_pickled_checkpoint, tokenizer_from_pickle
from uddm.cli import main
from uddm.data import BPETokenizer
from tests.uddm.helpers import random_dit

omegaconf = pytest.importorskip("omegaconf")
tokenizers = pytest.importorskip("tokenizers")
safetensors_torch = pytest.importorskip("safetensors.torch")

ATOL = RTOL = 1e-5


# --------------------------------------------------------------------------- tokenizers
def gpt2_style_json() -> str:
    """A byte-level BPE tokenizer.json shaped like gpt2 + its added [PAD]: K = 50258."""
    from tokenizers import Tokenizer, decoders, models
    from tokenizers.pre_tokenizers import ByteLevel
    vocab = {c: i for i, c in enumerate(sorted(ByteLevel.alphabet()))}
    while len(vocab) < 50256:
        vocab[f"filler{len(vocab)}"] = len(vocab)
    vocab["<|endoftext|>"] = 50256
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>", "[PAD]"])
    return tok.to_str()


BERT_WORDS = ["the", "cat", "sat", "on", "mat", "hello", "world", "a", "dog", "ran", ",", ".", "!"]


def bert_vocab(size=30522) -> OrderedDict:
    """A WordPiece vocabulary laid out like bert-base-uncased's: [PAD] 0, [UNK] 100, ..."""
    v = OrderedDict([("[PAD]", 0)])
    for i in range(1, 100):
        v[f"[unused{i}]"] = i
    for t in ("[UNK]", "[CLS]", "[SEP]", "[MASK]"):
        v[t] = len(v)
    for w in BERT_WORDS + [chr(c) for c in range(97, 123)] + [f"##{chr(c)}" for c in range(97, 123)]:
        if w not in v:
            v[w] = len(v)
    while len(v) < size:
        v[f"filler{len(v)}"] = len(v)
    return v


def bert_style_json(size=30522) -> str:
    from tokenizers.implementations import BertWordPieceTokenizer
    return BertWordPieceTokenizer(vocab=dict(bert_vocab(size)), lowercase=True).to_str()


def small_json(words=("the", "cat", "sat", "on", "mat", "dog", "ran")) -> str:
    """A word-level tokenizer of a few words plus [PAD] and [UNK] (fast CLI tests)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    vocab = {"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(words)}}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return tok.to_str()


class FastTokenizerStandIn:
    """Stands for a transformers fast tokenizer: it keeps a `tokenizers.Tokenizer` in
    `_tokenizer`, as GPT2TokenizerFast does (pickled inside DUO's hyper_parameters)."""

    def __init__(self, json_text):
        self._tokenizer = tokenizers.Tokenizer.from_str(json_text)
        self.name_or_path = "gpt2"
        self.padding_side = "right"


class SlowBertStandIn:
    """Stands for transformers.BertTokenizer (the paper's lm1b-wrap): a `vocab` mapping."""

    def __init__(self, vocab):
        self.vocab = vocab
        self.do_lower_case = True
        self.ids_to_tokens = OrderedDict((i, t) for t, i in vocab.items())


# --------------------------------------------------------------------------- file builders
def duo_config(m, length=None, algo="duo"):
    """The run configuration DUO's trainer pickles: a real OmegaConf DictConfig."""
    c = m.config
    return omegaconf.OmegaConf.create({
        "mode": "train", "seed": 1,
        "model": {"name": "tiny-test", "type": "ddit", "hidden_size": c.hidden, "cond_dim": c.cond_dim,
                  "length": length or c.length, "n_blocks": c.blocks, "n_heads": c.heads,
                  "scale_by_sigma": True, "dropout": 0.1, "tie_word_embeddings": False},
        "algo": {"name": algo, "backbone": "dit", "parameterization": "mean"},
        "noise": {"type": "log-linear", "eps": 1e-3},
        "training": {"ema": 0.9999, "sampling_eps": 1e-3, "antithetic_sampling": True},
        "loader": {"global_batch_size": 512, "batch_size": "${div_up:${.global_batch_size}, 8}"},
        "data": {"train": "lm1b", "tokenizer_name_or_path": "gpt2", "wrap": True},
    })


def lightning_dict(raw, ema, config, tokenizer=None, extra_hp=None):
    """A checkpoint dict in the layout Lightning writes for DUO's trainer."""
    sd = OrderedDict(("backbone." + k, v.clone()) for k, v in raw.state_dict().items())
    sd["backbone.rotary_emb.inv_freq"] = raw.rotary_emb.inv_freq.clone()
    sd["noise.sigma_max"] = torch.tensor(1.0)
    trained = copy.deepcopy(raw)               # an optimizer state as after one step
    opt = torch.optim.AdamW(trained.parameters(), lr=3e-4)
    for p in trained.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    hp = {"config": config, "tokenizer": tokenizer, **(extra_hp or {})}
    return {
        "epoch": 3, "global_step": 1000, "pytorch-lightning_version": "2.5.1",
        "state_dict": sd,
        "loops": {"fit_loop": {"state_dict": {}, "epoch_loop.state_dict": {"_batches_that_stepped": 1000}}},
        "callbacks": {"ModelCheckpoint": {"best_model_score": torch.tensor(3.2)}},
        "optimizer_states": [opt.state_dict()],
        "lr_schedulers": [{"last_epoch": 1000, "_step_count": 1001}],
        "hparams_name": "kwargs",
        "hyper_parameters": hp,
        "ema": {"decay": 0.9999, "num_updates": 1000,
                "shadow_params": [p.detach().clone() for p in ema.parameters()],
                "collected_params": None},
    }


def write_hf_folder(folder, m, tokenizer_json=None, **config_over):
    """An export folder: config.json with DUO's field names + model.safetensors (+ tokenizer)."""
    folder.mkdir(parents=True, exist_ok=True)
    c = m.config
    config = {"architectures": ["DUO"], "model_type": "duo", "vocab_size": c.vocab_size,
              "model_length": c.length, "causal": False, "hidden_dim": c.hidden,
              "cond_dim": c.cond_dim, "n_blocks": c.blocks, "n_heads": c.heads, "dropout": 0.1,
              "var_min": True, "torch_dtype": "float32", **config_over}
    (folder / "config.json").write_text(json.dumps(config))
    tensors = {"backbone." + k: v.detach().clone().contiguous() for k, v in m.state_dict().items()}
    tensors["backbone.rotary_emb.inv_freq"] = m.rotary_emb.inv_freq.clone()
    safetensors_torch.save_file(tensors, str(folder / "model.safetensors"))
    if tokenizer_json is not None:
        (folder / "tokenizer.json").write_text(tokenizer_json)
    return folder


def logits(m, K, L, seed=0):
    x = torch.randint(K, (2, L), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return m(x, torch.tensor([0.2, 1.5]))


# --------------------------------------------------------------------------- Lightning
def test_lightning_checkpoint_logits_equal_the_models_raw_and_ema(tmp_path):
    # hidden 64 with 8 heads and length 1024: neither can be guessed (the paper's width-64
    # configuration does not exist, the old default length was 128)
    raw = random_dit("cpu-xs", vocab_size=37, seed=0, heads=8, length=1024)
    ema = random_dit("cpu-xs", vocab_size=37, seed=7, heads=8, length=1024)
    p = tmp_path / "last.ckpt"
    torch.save(lightning_dict(raw, ema, duo_config(raw), FastTokenizerStandIn(small_json())), p)
    with pytest.raises(Exception):            # what the project used to do: refused
        torch.load(p, weights_only=True)
    for use_ema, want in ((False, raw), (True, ema)):
        got = load_any(p, use_ema=use_ema)
        c = got.model.config
        assert (c.hidden, c.blocks, c.heads, c.length, c.cond_dim, c.vocab_size) == (64, 2, 8, 1024, 128, 37)
        assert got.kind == "lightning" and c.name == "tiny-test"
        assert got.config["model"]["n_heads"] == 8 and got.config["algo"]["name"] == "duo"
        assert got.config["loader"]["batch_size"].startswith("${")     # unresolved, kept as text
        assert (got.schedule, got.eps) == ("loglinear", 1e-3)
        assert ("EMA" if use_ema else "raw") in got.description and "step 1000" in got.description
        assert "omegaconf.dictconfig.DictConfig" in got.placeholders
        torch.testing.assert_close(logits(got.model, 37, 1024), logits(want, 37, 1024),
                                   atol=ATOL, rtol=RTOL)
        assert not torch.allclose(logits(got.model, 37, 64), logits(ema if not use_ema else raw, 37, 64))
    assert got.tokenizer is not None and got.tokenizer.vocab_size == 9
    assert got.tokenizer.encode("the cat sat") == [2, 3, 4]


def test_length_and_heads_can_be_overridden_and_are_checked(tmp_path):
    raw = random_dit("cpu-xs", vocab_size=11, seed=0)
    p = tmp_path / "last.ckpt"
    torch.save(lightning_dict(raw, raw, duo_config(raw)), p)
    got = load_any(p, length=16, heads=2)
    assert (got.model.config.length, got.model.config.heads) == (16, 2)
    bad = duo_config(raw)
    bad.model.hidden_size = 128
    torch.save(lightning_dict(raw, raw, bad), p)
    with pytest.raises(ValueError, match="hidden = 128 but the weights have 64"):
        load_any(p)
    bad = duo_config(raw)
    bad.model.n_heads = 3
    torch.save(lightning_dict(raw, raw, bad), p)
    with pytest.raises(ValueError, match="not divisible by heads 3"):
        load_any(p)


def test_the_legacy_torch_format_is_read_too(tmp_path):
    raw = random_dit("cpu-xxs", vocab_size=7)
    p = tmp_path / "legacy.ckpt"
    torch.save(lightning_dict(raw, raw, duo_config(raw)), p, _use_new_zipfile_serialization=False)
    torch.testing.assert_close(logits(load_any(p).model, 7, 32), logits(raw, 7, 32), atol=ATOL, rtol=RTOL)


def test_lightning_checkpoint_errors_name_the_problem(tmp_path):
    raw = random_dit("cpu-xxs", vocab_size=7)
    p = tmp_path / "x.ckpt"
    obj = lightning_dict(raw, raw, duo_config(raw))
    obj.pop("ema")
    torch.save(obj, p)
    load_any(p)                                   # raw weights need no EMA
    with pytest.raises(ValueError, match="no EMA 'shadow_params'"):
        load_any(p, use_ema=True)
    torch.save(lightning_dict(raw, raw, duo_config(raw, algo="mdlm")), p)
    with pytest.raises(ValueError, match="masked .* not a uniform-state"):
        load_any(p)
    obj = lightning_dict(raw, raw, duo_config(raw))
    obj["state_dict"]["backbone.blocks.0.attn_out.weight"] = torch.zeros(5, 5)
    torch.save(obj, p)
    with pytest.raises(ValueError, match="attn_out.weight has shape"):
        load_any(p)
    (tmp_path / "cut.ckpt").write_bytes(p.read_bytes()[:300])
    with pytest.raises(ValueError, match="truncated or unreadable"):
        load_any(tmp_path / "cut.ckpt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_any(tmp_path / "missing.ckpt")
    torch.save({"weights": torch.zeros(2)}, p)
    with pytest.raises(ValueError, match="not a uddm checkpoint, nor a Lightning or DUO one"):
        load_any(p)


def test_tokenizer_objects_are_rebuilt_as_data():
    fast = tokenizer_from_pickle_roundtrip(FastTokenizerStandIn(gpt2_style_json()))
    assert fast.vocab_size == 50258 and fast.pad_id == 50257
    assert fast.decode(fast.encode("Hello, world!")) == "Hello, world!"
    slow = tokenizer_from_pickle_roundtrip(SlowBertStandIn(bert_vocab()))
    assert slow.vocab_size == 30522 and slow.pad_id == 0
    v = bert_vocab()
    assert slow.encode("The cat sat, hello!") == [v["the"], v["cat"], v["sat"], v[","], v["hello"], v["!"]]
    assert tokenizer_from_pickle_roundtrip(object()) is None


def tokenizer_from_pickle_roundtrip(tok):
    """Pickle `tok` as torch.save does and rebuild it through the restricted reader."""
    import io
    buf = io.BytesIO()
    torch.save({"tokenizer": tok}, buf)
    buf.seek(0)
    from uddm.checkpoints import _restricted_pickle_module
    obj = torch.load(buf, weights_only=False, pickle_module=_restricted_pickle_module({}))
    return tokenizer_from_pickle(obj["tokenizer"])


# --------------------------------------------------------------------------- security
class WritesAFile:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


class OpensAFile:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


class EvalsCode:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (eval, (f"open({self.path!r}, 'w')",))


def _unimportable_global(tmp_path):
    """A pickled reference to `evil_module_xyz.run`, a module that does not exist."""
    fake = types.ModuleType("evil_module_xyz")

    def run(path):
        open(path, "w").close()
    run.__module__, run.__qualname__ = "evil_module_xyz", "run"
    fake.run = run
    sys.modules["evil_module_xyz"] = fake

    class Payload:
        def __reduce__(self):
            return (run, (str(tmp_path / "imported"),))
    return Payload()


def test_a_hostile_checkpoint_never_runs_its_payload(tmp_path):
    raw = random_dit("cpu-xxs", vocab_size=7)
    marks = [tmp_path / f"pwned{i}" for i in range(4)]
    payload = _unimportable_global(tmp_path)
    obj = lightning_dict(raw, raw, duo_config(raw), WritesAFile(marks[0]),
                         extra_hp={"a": OpensAFile(marks[1]), "b": EvalsCode(marks[2]),
                                   "c": payload})
    p = tmp_path / "hostile.ckpt"
    torch.save(obj, p)
    del sys.modules["evil_module_xyz"]
    got = load_any(p)                                 # neutralised, and the weights load
    assert got.kind == "lightning" and got.tokenizer is None
    assert not any(m.exists() for m in marks) and not (tmp_path / "imported").exists()
    assert "evil_module_xyz" not in sys.modules       # never imported
    for name in ("posix.system", "io.open", "__builtin__.eval", "evil_module_xyz.run"):
        assert name in got.placeholders
    raw_obj, names = read_pickled_checkpoint(p)
    stand_in = raw_obj["hyper_parameters"]["tokenizer"]
    assert isinstance(stand_in, Placeholder) and stand_in.dotted == "posix.system"
    assert stand_in.args == (f"touch {marks[0]}",)     # kept as data, never called
    # the whole file a payload: refused, and still nothing ran
    torch.save(WritesAFile(marks[3]), p)
    with pytest.raises(ValueError, match="not a uddm checkpoint"):
        load_any(p)
    # a payload where a weight should be: refused by name
    obj = lightning_dict(raw, raw, duo_config(raw))
    obj["state_dict"]["backbone.vocab_embed.embedding"] = WritesAFile(marks[3])
    torch.save(obj, p)
    with pytest.raises(ValueError, match="vocab_embed.embedding is not a tensor"):
        load_any(p)
    assert not any(m.exists() for m in marks)


# --------------------------------------------------------------------------- Hugging Face
def test_hf_export_logits_equal_the_model(tmp_path):
    m = random_dit("cpu-xs", vocab_size=30522, seed=3, heads=8, length=128)
    folder = write_hf_folder(tmp_path / "duo-export", m, tokenizer_json=bert_style_json())
    got = load_any(folder)
    c = got.model.config
    assert (c.hidden, c.blocks, c.heads, c.length, c.vocab_size) == (64, 2, 8, 128, 30522)
    assert got.kind == "hf" and "model_type duo" in got.description
    assert got.tokenizer.vocab_size == 30522 and got.tokenizer.pad_id == 0
    torch.testing.assert_close(logits(got.model, 30522, 128), logits(m, 30522, 128), atol=ATOL, rtol=RTOL)
    with pytest.raises(ValueError, match="no EMA"):
        load_any(folder, use_ema=True)


def test_a_model_trained_without_time_conditioning_is_fed_sigma_zero(tmp_path):
    m = random_dit("cpu-xxs", vocab_size=9, seed=4)
    got = load_any(write_hf_folder(tmp_path / "udlm", m, model_type="udlm", time_conditioning=False))
    assert got.description == "Hugging Face export (model_type udlm, sigma fed as 0, raw weights)"
    x = torch.randint(9, (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = m(x, torch.zeros(2))
        torch.testing.assert_close(got.model(x, torch.tensor([0.2, 1.5])), want, atol=ATOL, rtol=RTOL)
        assert not torch.allclose(m(x, torch.tensor([0.2, 1.5])), want)
    raw = random_dit("cpu-xxs", vocab_size=7)
    cfg = duo_config(raw)
    cfg.algo.causal_attention = True
    torch.save(lightning_dict(raw, raw, cfg), tmp_path / "ar.ckpt")
    with pytest.raises(ValueError, match="causal attention"):
        load_any(tmp_path / "ar.ckpt")


def test_hf_export_errors_name_the_problem(tmp_path):
    m = random_dit("cpu-xxs", vocab_size=7)
    folder = write_hf_folder(tmp_path / "e", m, causal=True)
    with pytest.raises(ValueError, match="causal"):
        load_any(folder)
    write_hf_folder(folder, m, hidden_dim=48)
    with pytest.raises(ValueError, match="hidden = 48 but the weights have 32"):
        load_any(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_any(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no model.safetensors"):
        load_any(folder)
    write_hf_folder(folder, m)
    (folder / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(ValueError, match="truncated or not a safetensors file|holds no 'backbone.'"):
        load_any(folder)


def test_bpe_tokenizer_files_of_both_published_vocabularies(tmp_path):
    (tmp_path / "bert.json").write_text(bert_style_json())
    (tmp_path / "gpt2.json").write_text(gpt2_style_json())
    bert = BPETokenizer.from_file(tmp_path / "bert.json")
    gpt2 = BPETokenizer.from_file(tmp_path / "gpt2.json")
    assert (bert.vocab_size, bert.pad_id) == (30522, 0)
    assert (gpt2.vocab_size, gpt2.pad_id) == (50258, 50257)
    assert bert.decode(bert.encode("the cat sat on the mat")) == "the cat sat on the mat"
    assert gpt2.decode(gpt2.encode("The cat sat.")) == "The cat sat."


# --------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A Lightning checkpoint (gpt2-style tokenizer inside) and an HF folder (no tokenizer)."""
    root = tmp_path_factory.mktemp("published")
    lm = random_dit("cpu-xxs", vocab_size=50258, seed=1, length=16)
    ckpt = root / "lm1b-tiny-0.01.ckpt"
    torch.save(lightning_dict(lm, lm, duo_config(lm), FastTokenizerStandIn(gpt2_style_json())), ckpt)
    hf_model = random_dit("cpu-xxs", vocab_size=9, seed=2, length=16)
    hf = write_hf_folder(root / "duo-export", hf_model)
    (root / "small.json").write_text(small_json())
    (root / "refs.txt").write_text("the cat sat on the mat\nthe dog ran on the mat\n")
    (root / "short.txt").write_text("the cat\nthe dog\n")      # 7 byte-level tokens each
    return dict(root=root, ckpt=ckpt, hf=hf, tok=root / "small.json", refs=root / "refs.txt",
                short=root / "short.txt")


FAST = ["--n-generated", "2", "--steps", "2", "--generation-steps", "2", "--t", "0.5"]


def test_cli_probe_reads_both_formats(files):
    r = CliRunner().invoke(main, ["probe", str(files["ckpt"]), "--references", str(files["short"])] + FAST)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("Lightning checkpoint (algo duo, step 1000, raw weights): K=50258, "
                               "2 references of length 7") and "verdict:" in r.output
    r = CliRunner().invoke(main, ["probe", str(files["hf"]), "--references", str(files["refs"]),
                                  "--tokenizer", f"bpe:{files['tok']}"] + FAST)
    assert r.exit_code == 0, r.output
    assert "Hugging Face export (model_type duo, raw weights): K=9" in r.output


def test_cli_sample_recover_entropy_read_both_formats(files):
    run = CliRunner().invoke
    r = run(main, ["sample", "--checkpoint", str(files["ckpt"]), "--n", "2", "--steps", "2", "--ema"])
    assert r.exit_code == 0, r.output
    assert r.output.count("H=") == 2 and "sequence entropy" in r.output
    r = run(main, ["sample", "--checkpoint", str(files["hf"]), "--n", "1", "--steps", "2"])
    assert r.exit_code == 0 and "| ids: " in r.output, r.output       # no tokenizer: ids
    tok = ["--tokenizer", f"bpe:{files['tok']}"]
    r = run(main, ["sample", "--checkpoint", str(files["hf"]), "--n", "1", "--steps", "2"] + tok)
    assert r.exit_code == 0 and "ids:" not in r.output, r.output
    r = run(main, ["recover", "--checkpoint", str(files["hf"]), "--reference-file", str(files["refs"]),
                   "--steps", "2", "--t", "0.5"] + tok)
    assert r.exit_code == 0 and "recovery rate (eq. 12)" in r.output, r.output
    r = run(main, ["entropy", "--checkpoint", str(files["ckpt"]), "--reference-file", str(files["short"]),
                   "--n", "2", "--steps", "2"])
    assert r.exit_code == 0, r.output
    assert "references" in r.output and "entropy gap (generated - references)" in r.output


@pytest.mark.parametrize("args, message", [
    (["probe", "{hf}", "--references", "{refs}"],
     "Error: this Hugging Face export carries no tokenizer: give --tokenizer bpe:PATH/tokenizer.json, "
     "or the references as token ids (--ids)"),
    (["recover", "--checkpoint", "{hf}"],
     "Error: this Hugging Face export carries no training data: give --reference-file"),
    (["recover", "--checkpoint", "{hf}", "--reference-file", "{refs}"],
     "Error: this Hugging Face export carries no tokenizer: give --tokenizer bpe:"),
    (["entropy", "--checkpoint", "{ckpt}"],
     "Error: this Lightning checkpoint carries no training data"),
    (["entropy", "--checkpoint", "{ckpt}", "--sets", "references"],
     "Error: the 'references' set needs --reference-file FILE"),
    (["sample", "--checkpoint", "{ckpt}", "--tokenizer", "bpe:{tok}"],
     "Error: tokenizer {tok} has 9 tokens but the model's vocabulary is 50258"),
    (["sample", "--checkpoint", "{hf}", "--tokenizer", "gpt2"],
     "Error: --tokenizer must be bpe:PATH/tokenizer.json, got 'gpt2'"),
    (["sample", "--checkpoint", "{hf}", "--ema"],
     "Error: Hugging Face export {hf} holds one set of weights (no EMA)"),
    (["sample", "--checkpoint", "{root}/nothing.ckpt"],
     "Error: checkpoint {root}/nothing.ckpt does not exist"),
    (["probe", "{root}/nothing", "--references", "{refs}"],
     "Error: checkpoint {root}/nothing does not exist"),
])
def test_cli_one_line_errors(files, args, message):
    fill = {k: str(v) for k, v in files.items()}
    r = CliRunner().invoke(main, [a.format(**fill) for a in args])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert lines[0].startswith(message.format(**fill)), r.output


# --------------------------------------------------------------------------- LM1B, as the paper
def lm1b_copy(root, n_train=2500, n_test=300):
    """A DatasetDict in LM1B's shape (splits train and test, column text), saved to disk."""
    datasets = pytest.importorskip("datasets")
    words = ["the", "cat", "sat", "on", "mat", "dog", "ran", "hello", "world"]
    g = torch.Generator().manual_seed(0)

    def sentence():
        n = int(torch.randint(2, 9, (1,), generator=g))
        body = " ".join(words[int(i)] for i in torch.randint(len(words), (n,), generator=g))
        return body + " ."                         # LM1B's spacing before punctuation

    dd = datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": [sentence() for _ in range(n_train)]}),
                               "test": datasets.Dataset.from_dict({"text": [sentence() for _ in range(n_test)]})})
    dd.save_to_disk(str(root))
    return dd


def test_lm1b_detokenizer_restores_ordinary_spacing():
    from uddm.data import lm1b_detokenize
    assert lm1b_detokenize("Hello , world ! I don 't know .") == "Hello, world! I don't know."
    assert lm1b_detokenize('He said " yes " ( twice ) for $ 5 ; see http : / / x') == \
        'He said "yes" (twice) for $5; see http://x'


def test_lm1b_blocks_are_packed_as_the_papers_code(tmp_path):
    from uddm.data import LM1B_BATCH, lm1b_blocks, lm1b_detokenize
    dd = lm1b_copy(tmp_path / "lm1b")
    tok = BPETokenizer(bert_style_json(size=200))
    cls, sep = tok.tok.token_to_id("[CLS]"), tok.tok.token_to_id("[SEP]")
    L = 8
    blocks = lm1b_blocks(tmp_path / "lm1b", tok, L, "train")
    texts = dd["train"]["text"]
    expected = []
    for i in range(0, len(texts), LM1B_BATCH):    # sentence + [SEP], packed per batch of 1000
        flat = [t for s in texts[i:i + LM1B_BATCH] for t in tok.encode(lm1b_detokenize(s)) + [sep]]
        for j in range(len(flat) // (L - 2)):
            expected.append([cls] + flat[j * (L - 2):(j + 1) * (L - 2)] + [sep])
    assert blocks.shape == (len(expected), L) and blocks.dtype == np.int32
    assert (np.asarray(blocks) == np.array(expected)).all()
    cache = list((tmp_path / "lm1b").glob("uddm-blocks-train-L8-*.npy"))
    assert len(cache) == 1
    before = cache[0].stat().st_mtime_ns
    assert (np.asarray(lm1b_blocks(tmp_path / "lm1b", tok, L, "train")) == np.array(expected)).all()
    assert cache[0].stat().st_mtime_ns == before          # read from the cache


def test_lm1b_subsets_are_nested_fractions_and_the_test_set_is_lm1bs(tmp_path):
    from uddm.data import DataSpec, build_dataset, lm1b_blocks
    lm1b_copy(tmp_path / "lm1b")
    (tmp_path / "bert.json").write_text(bert_style_json(size=200))
    spec = dict(corpus=f"lm1b:{tmp_path / 'lm1b'}", tokenizer=f"bpe:{tmp_path / 'bert.json'}",
                length=8, n_test=50, split_seed=1)
    small = build_dataset(DataSpec(fraction=0.1, **spec))
    large = build_dataset(DataSpec(fraction=0.5, **spec))
    tok = BPETokenizer((tmp_path / "bert.json").read_text())
    train = np.asarray(lm1b_blocks(tmp_path / "lm1b", tok, 8, "train"))
    test = np.asarray(lm1b_blocks(tmp_path / "lm1b", tok, 8, "test"))
    N = train.shape[0]
    assert small.train.shape[0] == int(N * 0.1) and large.train.shape[0] == int(N * 0.5)
    assert torch.equal(large.train[:small.train.shape[0]], small.train)        # nested
    perm = np.random.default_rng(1).permutation(N)        # the shuffle of datasets' shuffle(seed=1)
    assert (small.train.numpy() == train[perm[:int(N * 0.1)]]).all()
    test_rows = {r.tobytes() for r in test.astype(np.int64)}
    assert small.test.shape == (50, 8) and all(r.tobytes() in test_rows for r in small.test.numpy())
    with pytest.raises(ValueError, match="packed blocks, as the paper's; split 'sentences'"):
        build_dataset(DataSpec(**{**spec, "split": "sentences"}))
    with pytest.raises(ValueError, match="needs a bpe:PATH"):
        build_dataset(DataSpec(**{**spec, "tokenizer": "byte"}))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_dataset(DataSpec(**{**spec, "corpus": f"lm1b:{tmp_path / 'none'}"}))


def test_the_paper_preset_is_the_papers_data():
    from uddm.data import PAPER_FRACTIONS
    from uddm.sweep import PRESETS
    p = PRESETS["paper"]
    assert p.corpus.startswith("lm1b:") and "bert-base-uncased" in p.tokenizer
    assert (p.length, p.split_seed, p.steps, p.batch_size, p.lr) == (128, 1, 1_000_000, 512, 3e-4)
    assert len(PAPER_FRACTIONS) == 54 and PAPER_FRACTIONS[0] == 0.0001 and PAPER_FRACTIONS[-1] == 1.0
    small = [f for f in PAPER_FRACTIONS if f <= 0.01]
    assert len(small) == 17 and max(np.diff(small)) - min(np.diff(small)) < 2e-6     # linear
    assert p.sizes == tuple(PAPER_FRACTIONS) and len(p.points()) == 3 * 54       # the 162 models
    from uddm.sweep import _data_spec
    spec = _data_spec(p, p.point(5))
    assert spec.fraction == PAPER_FRACTIONS[5] and spec.n_train is None


def test_a_published_checkpoint_with_non_finite_weights_is_refused(tmp_path):
    m = random_dit("cpu-xxs", vocab_size=23, seed=2)
    sd = {"backbone." + k: v.clone() for k, v in m.state_dict().items()}
    sd["backbone.blocks.0.attn_out.weight"][0, 0] = float("nan")
    torch.save({"state_dict": sd}, tmp_path / "nan.ckpt")
    with pytest.raises(ValueError, match="non-finite|NaN|finite"):
        load_any(str(tmp_path / "nan.ckpt"), heads=2)
