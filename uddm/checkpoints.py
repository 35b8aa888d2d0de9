"""Open the checkpoints people publish, without running anything they contain.

Four layouts, one entry point (`load_any`):

- uddm's own `.pt` (`uddm.train.save_checkpoint`): read by `uddm.train.load_checkpoint`
  with `torch.load(weights_only=True)`.
- A PyTorch Lightning `.ckpt` of the DUO code base (DUO's own models, the paper's 162
  LM1B models). Besides `state_dict` (weights under `backbone.`), `ema` (`shadow_params`,
  a list in `backbone.parameters()` order), `optimizer_states`, `loops`, `epoch` and
  `global_step`, it holds `hyper_parameters`: the run's OmegaConf `DictConfig` and the
  tokenizer object, pickled because the trainer calls `save_hyperparameters()`.
  `torch.load(weights_only=True)` refuses such a file. It is read here with a
  restricted unpickler (`RestrictedUnpickler`, used by `torch.load` itself so that
  storages come through torch's own `persistent_load`, memory-mapped): tensors,
  containers and primitives are rebuilt; every other global becomes an inert
  `Placeholder`. The real class or function is never imported and never called; what
  pickle hands the stand-in (arguments, state, items) is kept as plain data, and the
  configuration is read from it (`plain`).
- A bare {'state_dict', 'ema'} file (weights only, no configuration).
- A Hugging Face export folder: `config.json` (`vocab_size`, `model_length`,
  `hidden_dim`, `cond_dim`, `n_blocks`, `n_heads`, ...) and `model.safetensors` with
  `backbone.*` keys, optionally `tokenizer.json` beside them.

The model is built from the configuration the file states (hidden size, blocks, heads,
cond_dim, length, vocabulary), never guessed when the file says; shapes are checked
against it before any copy. Raw weights are the default (the paper's evaluation never
loads the EMA); `use_ema=True` opts in.
"""
from __future__ import annotations

import json
import pickle
import types
from dataclasses import dataclass, field
from pathlib import Path

import torch

from uddm.model import CONFIGS, DiT, ModelConfig

__all__ = ["Placeholder", "RestrictedUnpickler", "read_pickled_checkpoint", "plain", "Loaded",
           "load_any", "load_lightning", "load_hf_folder", "load_state_dict_file",
           "model_from_tensors", "checkpoint_kind", "load_object", "tokenizer_from_pickle",
           "WithoutTimeConditioning"]

# --------------------------------------------------------------------------- unpickling
# Callables and classes a checkpoint may use, by (module, name). Everything here only
# builds data: tensors from storages that torch's own `persistent_load` reads, and
# the built-in containers. Storages themselves are resolved by torch's wrapper.
_BUILTINS = {"dict", "list", "tuple", "set", "frozenset", "int", "float", "complex", "bool",
             "str", "bytes", "bytearray", "slice"}
_TORCH_REBUILD = {"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3",
                  "_rebuild_parameter", "_rebuild_parameter_with_state"}


class Placeholder:
    """An inert stand-in for a pickled global that is not on the allow-list.

    The real class or function is never imported. Whatever pickle hands the stand-in is
    kept as data: constructor arguments (`args`, `kwargs`), the BUILD state (`state`),
    dict items (`items`) and list items (`list_items`). `dotted` names what it stands for.
    """

    dotted = "?"

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.args, obj.kwargs = args, kwargs
        obj.state, obj.items, obj.list_items = None, {}, []
        return obj

    def __init__(self, *args, **kwargs):
        """Nothing: everything was recorded by __new__."""

    def __setstate__(self, state):
        self.state = state

    def __setitem__(self, key, value):
        self.items[key] = value

    def append(self, value):
        self.list_items.append(value)

    def extend(self, values):
        self.list_items.extend(values)

    def __repr__(self):
        return f"<not loaded: {self.dotted}>"


def _is_torch_constant(name: str) -> bool:
    """torch.float32, torch.strided, torch.contiguous_format, ...: plain values, no code."""
    value = getattr(torch, name, None)
    return isinstance(value, (torch.dtype, torch.layout, torch.memory_format))


def _latin1_bytes(text, encoding="latin1"):
    """Protocol 2 pickles bytes as `_codecs.encode(text, 'latin1')`: only that is allowed."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refused _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


class RestrictedUnpickler(pickle.Unpickler):
    """A pickle.Unpickler whose globals are tensors, containers and primitives only.

    Any other global resolves to a fresh `Placeholder` subclass named after it (one per
    dotted name, recorded in `placeholders`); calling it only records its arguments.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.placeholders: dict[str, type] = {}

    def find_class(self, module: str, name: str):
        if module in ("builtins", "__builtin__") and name in _BUILTINS:
            return getattr(__import__("builtins"), name)
        if module == "collections" and name == "OrderedDict":
            import collections
            return collections.OrderedDict
        if module == "torch._utils" and name in _TORCH_REBUILD:
            import torch._utils
            return getattr(torch._utils, name)
        if module == "torch" and (name == "Size" or _is_torch_constant(name)):
            return getattr(torch, name)
        if module == "torch" and name == "device":
            return torch.device
        if module == "_codecs" and name == "encode":
            return _latin1_bytes
        return self._placeholder(f"{module}.{name}")

    def _placeholder(self, dotted: str) -> type:
        if dotted not in self.placeholders:
            self.placeholders[dotted] = type(dotted.rsplit(".", 1)[-1], (Placeholder,),
                                             {"dotted": dotted, "__module__": __name__})
        return self.placeholders[dotted]


def _restricted_pickle_module(seen: dict) -> types.ModuleType:
    """A stand-in `pickle` module for `torch.load(pickle_module=...)`.

    torch subclasses its `Unpickler` (adding storage look-ups and `persistent_load`) and
    calls its `load` for the legacy format; both are restricted. `seen` collects the
    dotted names of every global that became a placeholder.
    """
    mod = types.ModuleType("uddm_restricted_pickle")

    class Unpickler(RestrictedUnpickler):
        def _placeholder(self, dotted):
            seen.setdefault(dotted, 0)
            seen[dotted] += 1
            return super()._placeholder(dotted)

    def load(f, **kwargs):
        return Unpickler(f, **kwargs).load()

    mod.Unpickler = Unpickler
    mod.load = load
    mod.__name__ = "uddm_restricted_pickle"
    return mod


def read_pickled_checkpoint(path, map_location="cpu") -> tuple[object, list[str]]:
    """(object, dotted names that became placeholders) of any torch.save'd file, safely.

    Raises FileNotFoundError for a missing file and ValueError naming the file for one
    that is truncated or not a torch file.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    seen: dict = {}
    module = _restricted_pickle_module(seen)
    try:
        try:    # memory-mapped: the optimizer state and the EMA are never read unless used
            obj = torch.load(p, map_location=map_location, weights_only=False,
                             pickle_module=module, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):      # only the legacy (non-zip) format lacks mmap
                raise
            obj = torch.load(p, map_location=map_location, weights_only=False,
                             pickle_module=module)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"checkpoint {path} is truncated or unreadable ({first})") from None
    return obj, sorted(seen)


def plain(obj, _depth: int = 0):
    """The plain-data view of an unpickled object: dicts, lists, numbers, strings, tensors.

    OmegaConf containers (`DictConfig`, `ListConfig`) keep their content in `_content`
    and each value node its value in `_val`; both are walked. Other placeholders with
    dict or list items become dicts or lists; the rest stay placeholders.
    """
    if _depth > 100:
        raise ValueError("checkpoint configuration is nested more than 100 levels deep")
    nxt = _depth + 1
    if isinstance(obj, Placeholder):
        state = obj.state if isinstance(obj.state, dict) else {}
        if "_content" in state:
            return plain(state["_content"], nxt)
        if "_val" in state:
            return plain(state["_val"], nxt)
        if obj.items:
            return {k: plain(v, nxt) for k, v in obj.items.items()}
        if obj.list_items:
            return [plain(v, nxt) for v in obj.list_items]
        return obj
    if isinstance(obj, dict):
        return {k: plain(v, nxt) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v, nxt) for v in obj]
    return obj


# --------------------------------------------------------------------------- configuration
def _get(d, dotted: str):
    """d['a']['b'] for 'a.b', or None when any level is missing or not a dict."""
    for part in dotted.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


def _int_or_none(value, what: str, source: str):
    """An int from a configuration value; None when absent or an unresolved `${...}`."""
    if value is None or (isinstance(value, str) and value.startswith("${")):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{source}: {what} is {value!r}, not a number")
    try:
        out = int(value)
    except ValueError:
        raise ValueError(f"{source}: {what} is {value!r}, not a number") from None
    if out != float(value) or out < 1:
        raise ValueError(f"{source}: {what} must be a positive integer, got {value!r}")
    return out


# DUO's Hydra configuration (configs/model/*.yaml, configs/config.yaml) and the field
# names of its Hugging Face exports (config.json), mapped to ModelConfig fields.
_LIGHTNING_KEYS = {"hidden": "model.hidden_size", "blocks": "model.n_blocks",
                   "heads": "model.n_heads", "cond_dim": "model.cond_dim",
                   "length": "model.length"}
_HF_KEYS = {"hidden": "hidden_dim", "blocks": "n_blocks", "heads": "n_heads",
            "cond_dim": "cond_dim", "length": "model_length", "vocab_size": "vocab_size"}
# algorithms of the DUO code base whose network is not a uniform-state denoiser
_NOT_UNIFORM = {"ar": "an autoregressive model", "mdlm": "a masked (absorbing-state) model"}


def _shape_facts(sd: dict, source: str) -> dict:
    """hidden, blocks, cond_dim and K read from the weight shapes."""
    try:
        K, d = sd["vocab_embed.embedding"].shape
        c = sd["sigma_map.mlp.2.weight"].shape[0]
    except KeyError as exc:
        raise ValueError(f"{source} lacks the weight {exc.args[0]}") from None
    blocks = {k.split(".")[1] for k in sd if k.startswith("blocks.")}
    return {"hidden": int(d), "blocks": len(blocks), "cond_dim": int(c), "vocab_size": int(K)}


def _build_config(sd: dict, stated: dict, source: str, heads=None, length=None,
                  name=None, dropout=0.1) -> ModelConfig:
    """A ModelConfig from the weights' shapes and what the file states, checked together."""
    facts = _shape_facts(sd, source)
    for key in ("hidden", "blocks", "cond_dim", "vocab_size"):
        if stated.get(key) is not None and stated[key] != facts[key]:
            raise ValueError(f"{source}: the configuration says {key} = {stated[key]} but the "
                             f"weights have {facts[key]}")
    if heads is None:
        heads = stated.get("heads")
    if heads is None:       # a bare state dict: the paper's configuration of this width
        by_hidden = {cfg.hidden: cfg.heads for cfg in CONFIGS.values() if cfg.length == 128}
        if facts["hidden"] not in by_hidden:
            raise ValueError(f"{source} does not state the head count and hidden size "
                             f"{facts['hidden']} is none of the paper's; pass heads= "
                             f"(uddm probe --heads)")
        heads = by_hidden[facts["hidden"]]
    if length is None:
        length = stated.get("length") or 128
    if name is None:
        name = next((n for n, cfg in CONFIGS.items()
                     if (cfg.hidden, cfg.blocks, cfg.heads) == (facts["hidden"], facts["blocks"], heads)),
                    "duo")
    try:
        return ModelConfig(str(name), facts["hidden"], facts["blocks"], int(heads), int(length),
                           cond_dim=facts["cond_dim"], dropout=float(dropout),
                           vocab_size=facts["vocab_size"])
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


# --------------------------------------------------------------------------- weights
def _backbone(state_dict: dict, source: str) -> dict:
    """The `backbone.` weights with the prefix (and torch.compile's `_orig_mod.`) removed."""
    if not isinstance(state_dict, dict):
        raise ValueError(f"{source}: 'state_dict' is a {type(state_dict).__name__}, not a dict")
    sd = {}
    for k, v in state_dict.items():
        if isinstance(k, str) and k.startswith("backbone."):
            k = k[len("backbone."):]
            if k.startswith("_orig_mod."):
                k = k[len("_orig_mod."):]
            sd[k] = v
    if not sd:
        raise ValueError(f"{source} holds no 'backbone.' weights")
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ValueError(f"{source}: weight {bad[0]} is not a tensor")
    return sd


def _shadow(ema, source: str) -> list:
    """The EMA `shadow_params` list, checked to hold tensors."""
    if isinstance(ema, Placeholder):
        ema = plain(ema)
    if not isinstance(ema, dict) or not ema.get("shadow_params"):
        raise ValueError(f"{source} has no EMA 'shadow_params'; load the raw weights "
                         f"(use_ema=False, the default)")
    shadow = list(ema["shadow_params"])
    if not all(isinstance(s, torch.Tensor) for s in shadow):
        raise ValueError(f"{source}: the EMA shadow_params are not all tensors")
    return shadow


def model_from_tensors(sd: dict, cfg: ModelConfig, shadow: list | None, source: str) -> DiT:
    """A DiT of `cfg` holding the weights `sd` (or the EMA list `shadow`), shapes checked.

    `shadow` is in `backbone.parameters()` order; DUO's EMA also tracks the noise
    schedule's parameters after the backbone's, so a longer list is cut to the model's.
    The memory the model needs is checked before it is built, and its weights must be
    finite (a diverged run is refused by name).
    """
    from uddm.model import check_finite_weights, check_model_memory
    check_model_memory(cfg, source)
    model = DiT(cfg)
    own = dict(model.named_parameters())
    ignored = {k for k in sd if k.startswith("rotary_emb.")}
    missing = sorted(set(own) - set(sd))
    extra = sorted(set(sd) - set(own) - ignored)
    if missing or extra:
        raise ValueError(f"{source} does not match the DiT layout: missing {missing[:3]}, "
                         f"unexpected {extra[:3]}")
    with torch.no_grad():
        if shadow is not None:
            if len(shadow) < len(own):
                raise ValueError(f"{source}: the EMA has {len(shadow)} tensors, the model "
                                 f"{len(own)}")
            for (n, p), s in zip(own.items(), shadow):
                if tuple(s.shape) != tuple(p.shape):
                    raise ValueError(f"{source}: EMA tensor for {n} has shape "
                                     f"{tuple(s.shape)}, expected {tuple(p.shape)}")
                p.copy_(s)
        else:
            for n, p in own.items():
                if tuple(sd[n].shape) != tuple(p.shape):
                    raise ValueError(f"{source}: {n} has shape {tuple(sd[n].shape)}, "
                                     f"expected {tuple(p.shape)}")
                p.copy_(sd[n])
    check_finite_weights(model, source)
    return model.eval()


class WithoutTimeConditioning(torch.nn.Module):
    """A DiT trained with `time_conditioning: False`: its code feeds it sigma = 0 always."""

    def __init__(self, model: DiT):
        super().__init__()
        self.inner = model
        self.config = model.config

    def forward(self, tokens: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return self.inner(tokens, torch.zeros_like(sigma))


def _time_conditioned(model: DiT, flag, source: str):
    """`model`, or its sigma-free wrapper when the configuration says time_conditioning False."""
    if flag is None or flag is True:
        return model
    if flag is False:
        return WithoutTimeConditioning(model).eval()
    raise ValueError(f"{source}: time_conditioning is {flag!r}, not true or false")


# --------------------------------------------------------------------------- tokenizers
def _tokenizer_json(obj) -> str | None:
    """The tokenizer.json text inside a pickled tokenizer, if it holds one.

    A `tokenizers.Tokenizer` pickles its whole definition as JSON (its BUILD state); a
    transformers "fast" tokenizer keeps one under `_tokenizer`. Searched two levels deep.
    """
    def as_json(state):
        if isinstance(state, (bytes, bytearray)):
            state = bytes(state).decode("utf-8", errors="replace")
        if isinstance(state, str) and state.lstrip().startswith("{") and '"model"' in state:
            return state
        return None

    if not isinstance(obj, Placeholder):
        return None
    found = as_json(obj.state)
    if found:
        return found
    state = obj.state if isinstance(obj.state, dict) else {}
    for value in state.values():
        if isinstance(value, Placeholder):
            found = as_json(value.state)
            if found:
                return found
    return None


def _bert_vocab(obj) -> dict | None:
    """token -> id of a pickled slow `BertTokenizer` (its `vocab`), if that is what it is."""
    if not isinstance(obj, Placeholder) or not isinstance(obj.state, dict):
        return None
    vocab = plain(obj.state.get("vocab"))
    if isinstance(vocab, dict) and vocab and all(isinstance(v, int) for v in vocab.values()):
        return vocab
    return None


def tokenizer_from_pickle(obj):
    """A `uddm.data.BPETokenizer` rebuilt as data from a pickled tokenizer, or None.

    Fast tokenizers carry their tokenizer.json; a slow BertTokenizer (bert-base-uncased
    in the paper's lm1b-wrap runs) carries its WordPiece vocabulary, from which the
    standard uncased BERT pipeline is rebuilt. Anything else: None (pass a tokenizer).
    """
    from uddm.data import BPETokenizer
    text = _tokenizer_json(obj)
    if text is not None:
        try:
            return BPETokenizer(text)
        except Exception:
            return None
    vocab = _bert_vocab(obj)
    if vocab is None:
        return None
    try:
        from tokenizers.implementations import BertWordPieceTokenizer
    except ImportError:
        return None
    lower = bool(obj.state.get("do_lower_case", True)) if isinstance(obj.state, dict) else True
    try:
        tok = BertWordPieceTokenizer(vocab=dict(vocab), lowercase=lower)
        return BPETokenizer(tok.to_str())
    except Exception:
        return None


# --------------------------------------------------------------------------- loaders
@dataclass
class Loaded:
    """What `load_any` found: the model, a tokenizer if the file carries one, and facts."""

    model: torch.nn.Module          # a DiT (or its WithoutTimeConditioning wrapper)
    tokenizer: object | None
    kind: str                       # "uddm" | "lightning" | "hf" | "state-dict"
    description: str
    config: dict = field(default_factory=dict)      # the file's configuration, plain data
    checkpoint: dict | None = None  # a uddm checkpoint's dict (data identity, train config)
    schedule: str = "loglinear"
    eps: float = 1e-3
    placeholders: list = field(default_factory=list)   # globals that were not loaded


def _weights_word(use_ema: bool) -> str:
    return "EMA weights" if use_ema else "raw weights"


def _schedule_of(config: dict) -> tuple[str, float]:
    """(schedule name, eps) of a DUO run: its `noise.type` and `training.sampling_eps`."""
    noise = str(_get(config, "noise.type") or "log-linear").replace("-", "").replace("_", "")
    name = "cosine" if noise == "cosine" else "loglinear"
    eps = _get(config, "training.sampling_eps")
    try:
        eps = float(eps) if eps is not None else 1e-3
    except (TypeError, ValueError):
        eps = 1e-3
    return name, eps


def load_lightning(obj: dict, path, use_ema=False, heads=None, length=None,
                   placeholders=()) -> Loaded:
    """A `Loaded` from an unpickled Lightning checkpoint dict of the DUO code base."""
    source = f"Lightning checkpoint {path}"
    hp = plain(obj.get("hyper_parameters") or {})
    config = hp.get("config") if isinstance(hp, dict) else None
    config = config if isinstance(config, dict) else {}
    algo = _get(config, "algo.name")
    if isinstance(algo, str) and algo in _NOT_UNIFORM:
        raise ValueError(f"{source} is {_NOT_UNIFORM[algo]} (algo.name = {algo!r}), not a "
                         f"uniform-state diffusion model: uddm cannot probe it")
    if _get(config, "algo.causal_attention") is True:
        raise ValueError(f"{source} uses causal attention (algo.causal_attention): uddm "
                         f"cannot probe it")
    sd = _backbone(obj["state_dict"], source)
    stated = {k: _int_or_none(_get(config, key), key, source) for k, key in _LIGHTNING_KEYS.items()}
    dropout = _get(config, "model.dropout")
    cfg = _build_config(sd, stated, source, heads=heads, length=length,
                        name=_get(config, "model.name") if isinstance(_get(config, "model.name"), str) else None,
                        dropout=dropout if isinstance(dropout, float) and 0 <= dropout < 1 else 0.1)
    shadow = _shadow(obj.get("ema"), source) if use_ema else None
    model = _time_conditioned(model_from_tensors(sd, cfg, shadow, source),
                              _get(config, "algo.time_conditioning"), source)
    raw_hp = obj.get("hyper_parameters")
    tok_obj = raw_hp.get("tokenizer") if isinstance(raw_hp, dict) else (
        raw_hp.items.get("tokenizer") if isinstance(raw_hp, Placeholder) else None)
    tokenizer = tokenizer_from_pickle(tok_obj)
    step = obj.get("global_step")
    bits = [f"algo {algo}" if algo else None,
            f"step {step}" if isinstance(step, int) else None,
            "sigma fed as 0" if isinstance(model, WithoutTimeConditioning) else None,
            _weights_word(use_ema)]
    sched, eps = _schedule_of(config)
    return Loaded(model, tokenizer, "lightning",
                  f"Lightning checkpoint ({', '.join(b for b in bits if b)})", config,
                  schedule=sched, eps=eps, placeholders=list(placeholders))


def load_hf_folder(folder, use_ema=False, heads=None, length=None) -> Loaded:
    """A `Loaded` from a Hugging Face export: config.json + model.safetensors (+ tokenizer.json)."""
    folder = Path(folder)
    source = f"Hugging Face export {folder}"
    if use_ema:
        raise ValueError(f"{source} holds one set of weights (no EMA): drop --ema / use_ema")
    cfg_path, weights = folder / "config.json", folder / "model.safetensors"
    if not cfg_path.is_file():
        raise FileNotFoundError(f"{source} has no config.json")
    if not weights.is_file():
        sharded = folder / "model.safetensors.index.json"
        why = " (sharded exports are not supported)" if sharded.is_file() else ""
        raise FileNotFoundError(f"{source} has no model.safetensors{why}")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{cfg_path} is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{cfg_path} holds a {type(config).__name__}, not a JSON object")
    if config.get("causal"):
        raise ValueError(f"{source} is a causal (autoregressive) model: uddm cannot probe it")
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise ValueError("Hugging Face exports need the 'safetensors' package "
                         "(pip install safetensors)") from None
    try:
        tensors = load_file(str(weights), device="cpu")
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{weights} is truncated or not a safetensors file ({first})") from None
    sd = _backbone(tensors, source)
    stated = {k: _int_or_none(config.get(key), key, source) for k, key in _HF_KEYS.items()}
    dropout = config.get("dropout")
    cfg = _build_config(sd, stated, source, heads=heads, length=length,
                        dropout=dropout if isinstance(dropout, float) and 0 <= dropout < 1 else 0.1)
    if config.get("cfg"):
        raise ValueError(f"{source} is a classifier-free-guidance model (cfg: true): uddm "
                         f"cannot probe it")
    model = _time_conditioned(model_from_tensors(sd, cfg, None, source),
                              config.get("time_conditioning"), source)
    tokenizer = None
    if (folder / "tokenizer.json").is_file():
        from uddm.data import BPETokenizer
        tokenizer = BPETokenizer.from_file(folder / "tokenizer.json")
    kind = config.get("model_type")
    bits = [f"model_type {kind}" if kind else None,
            "sigma fed as 0" if isinstance(model, WithoutTimeConditioning) else None, "raw weights"]
    desc = f"Hugging Face export ({', '.join(b for b in bits if b)})"
    return Loaded(model, tokenizer, "hf", desc, config)


def load_state_dict_file(obj: dict, path, use_ema=False, heads=None, length=None,
                         dropout=0.1) -> Loaded:
    """A `Loaded` from a bare {'state_dict', 'ema'} file (no configuration: heads guessed)."""
    source = f"DUO checkpoint {path}"
    sd = _backbone(obj["state_dict"], source)
    cfg = _build_config(sd, {}, source, heads=heads, length=length, dropout=dropout)
    shadow = _shadow(obj.get("ema"), source) if use_ema else None
    return Loaded(model_from_tensors(sd, cfg, shadow, source), None, "state-dict",
                  f"DUO checkpoint ({_weights_word(use_ema)})")


def checkpoint_kind(path) -> str:
    """'hf' for an export folder, 'file' for a file; FileNotFoundError naming the path."""
    p = Path(path)
    if p.is_dir():
        return "hf"
    if p.is_file():
        return "file"
    raise FileNotFoundError(f"checkpoint {path} does not exist")


def load_any(path, use_ema: bool = False, device="cpu", heads: int | None = None,
             length: int | None = None) -> Loaded:
    """Open a uddm `.pt`, a Lightning `.ckpt` or a Hugging Face export folder.

    `heads` and `length` override what the file states (needed only for a bare state
    dict, which states neither; its length then defaults to 128). Returns a `Loaded`
    with the model in eval mode on `device`.
    """
    if checkpoint_kind(path) == "hf":
        out = load_hf_folder(path, use_ema=use_ema, heads=heads, length=length)
    else:
        obj, names = read_pickled_checkpoint(path)
        out = load_object(obj, path, names, use_ema=use_ema, heads=heads, length=length)
    out.model = out.model.to(device).eval()
    return out


def load_object(obj, path, placeholders=(), use_ema=False, heads=None, length=None,
                dropout=0.1) -> Loaded:
    """A `Loaded` from the unpickled content of checkpoint file `path`, by its layout."""
    from uddm.data import tokenizer_from_dict
    from uddm.train import CKPT_FORMAT, load_checkpoint
    if isinstance(obj, dict) and obj.get("format") == CKPT_FORMAT:
        model, ck = load_checkpoint(str(path), use_ema=use_ema, map_location="cpu")
        tc = ck.get("train_config", {})
        return Loaded(model, tokenizer_from_dict(ck["tokenizer"]), "uddm",
                      f"uddm checkpoint (step {ck['step']}, {_weights_word(use_ema)})",
                      ck.get("model_config", {}), checkpoint=ck,
                      schedule=tc.get("schedule", "loglinear"), eps=tc.get("eps", 1e-3))
    if isinstance(obj, dict) and "state_dict" in obj and (
            "hyper_parameters" in obj or "pytorch-lightning_version" in obj):
        return load_lightning(obj, path, use_ema=use_ema, heads=heads, length=length,
                              placeholders=placeholders)
    if isinstance(obj, dict) and "state_dict" in obj:
        return load_state_dict_file(obj, path, use_ema=use_ema, heads=heads, length=length,
                                    dropout=dropout)
    what = sorted(obj)[:5] if isinstance(obj, dict) else type(obj).__name__
    raise ValueError(f"{path} is not a uddm checkpoint, nor a Lightning or DUO one "
                     f"(it holds {what})")
