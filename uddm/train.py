"""One training loop (nanoGPT style): AdamW, linear warm-up, gradient clipping, EMA,
bf16 autocast on CUDA only, validation NELBO, atomic checkpoints that resume exactly,
and DistributedDataParallel when launched by `torchrun` (gloo on CPU, nccl on CUDA).

Exact resumption: every random number of a step comes from two CPU generators (batch
indices; times and corruption) drawn for the *global* batch, plus torch's global
generator (dropout). All three states, the optimiser, the EMA and the step are saved
with the configuration, tokenizer and the identity (spec and SHA-256) of the data, so an
interrupted-and-resumed run ends with exactly the weights of an uninterrupted one. Each
data-parallel rank takes its slice of the global batch, and the loss is normalised by
the global count of non-pad tokens, so the data-parallel loss curve equals the
single-process one at the same global batch (up to float summation order; dropout
masks differ per rank unless dropout = 0).
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields, replace

import torch
import torch.nn.functional as F

from memkit.io import atomic_write
from uddm.data import DataSpec, Dataset, build_dataset
from uddm.diffusion import (DuoCurriculum, forward_corrupt, make_schedule, nelbo_per_token,
                            sample_times, x0_cross_entropy_per_token)
from uddm.model import DiT, ModelConfig, get_config

__all__ = ["TrainConfig", "train", "learning_rate", "load_checkpoint", "read_checkpoint", "save_checkpoint",
           "validation_nelbo", "CKPT_FORMAT", "TrainResult"]

CKPT_FORMAT = "uddm-checkpoint-v1"
LOSSES = ("nelbo", "x0_ce")
LR_DECAYS = ("none", "cosine", "linear")


@dataclass
class TrainConfig:
    """Training hyper-parameters. Paper values: lr 3e-4, warmup 2500, batch 512, ema 0.9999."""

    model: str = "cpu-xs"
    hidden: int | None = None           # optional overrides of the named configuration
    blocks: int | None = None
    heads: int | None = None
    length: int | None = None
    dropout: float | None = None
    loss: str = "nelbo"                 # "nelbo" (eq. 3, the paper's) | "x0_ce" (not the paper's)
    schedule: str = "loglinear"
    eps: float = 1e-3
    antithetic: bool = True
    steps: int = 1000
    batch_size: int = 32                # global batch
    lr: float = 3e-4
    warmup: int = 100
    lr_decay: str = "none"              # after warm-up: "none" (constant, DUO's) | "cosine" | "linear" to 0 at `steps`
    betas: tuple = (0.9, 0.999)
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    fused_adam: bool = False            # AdamW's fused kernel (CPU and CUDA): faster, same maths
    compile: bool = False               # torch.compile the step's loss and backward: faster, same maths to round-off
                                        # (bit-reproducible for a seed on one thread only, as sweep units run)
    flush_denormal: bool = False        # CPU: subnormal floats (< 1.2e-38) read and written as 0 during training
                                        # (x86 FTZ/DAZ, the training thread's): faster steps where activations
                                        # underflow (fully on one thread, as sweep units run), same maths
    ema: float = 0.999
    seed: int = 0
    eval_every: int = 0                 # 0: only at the end
    eval_batches: int = 4
    ckpt_every: int = 0                 # 0: only at the end (and on Ctrl-C)
    curriculum_steps: int = 0           # DUO Gaussian curriculum for the first n steps
    device: str = "auto"
    progress: bool = True

    def validate(self) -> None:
        """ValueError naming the first bad field: every number finite and in range,
        every count a positive integer (never reinterpreted), a known model,
        schedule and loss, and a device that exists."""
        from memkit.validate import check_count, check_number
        from uddm.diffusion import SCHEDULES
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.lr_decay not in LR_DECAYS:
            raise ValueError(f"lr_decay must be one of {LR_DECAYS}, got {self.lr_decay!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {sorted(SCHEDULES)}, got {self.schedule!r}")
        get_config(self.model)
        for f in ("hidden", "blocks", "heads", "length"):
            if getattr(self, f) is not None:
                check_count(f, getattr(self, f))
        if self.dropout is not None:
            check_number("dropout", self.dropout, 0.0, 1.0, high_open=True)
        for f in ("steps", "batch_size", "eval_batches"):
            check_count(f, getattr(self, f))
        for f in ("warmup", "seed", "eval_every", "ckpt_every", "curriculum_steps"):
            check_count(f, getattr(self, f), minimum=0)
        check_number("lr", self.lr, 0.0, low_open=True)
        check_number("eps", self.eps, 0.0, 0.5, low_open=True, high_open=True)
        check_number("ema decay", self.ema, 0.0, 1.0, high_open=True)
        check_number("grad_clip", self.grad_clip, 0.0)
        check_number("weight_decay", self.weight_decay, 0.0)
        if len(tuple(self.betas)) != 2:
            raise ValueError(f"betas must be two numbers, got {self.betas!r}")
        for b in self.betas:
            check_number("betas", b, 0.0, 1.0, high_open=True)
        for f in ("antithetic", "fused_adam", "compile", "flush_denormal"):
            if not isinstance(getattr(self, f), bool):
                raise ValueError(f"{f} must be True or False, got {getattr(self, f)!r}")
        check_device(self.device)

    def model_config(self, vocab_size: int) -> ModelConfig:
        return get_config(self.model, hidden=self.hidden, blocks=self.blocks, heads=self.heads,
                          length=self.length, dropout=self.dropout, vocab_size=vocab_size,
                          prediction=self.loss)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        names = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        if "betas" in d:
            d["betas"] = tuple(d["betas"])
        return cls(**d)


@dataclass
class TrainResult:
    model: DiT                       # raw weights
    ema_model: DiT                   # EMA weights (a copy)
    history: list = field(default_factory=list)
    dataset: Dataset | None = None
    step: int = 0


# --------------------------------------------------------------------------- helpers
def learning_rate(cfg: TrainConfig, step: int) -> float:
    """The learning rate of optimiser step `step` (0-based): linear warm-up over
    `cfg.warmup` steps to `cfg.lr`, then constant (`lr_decay="none"`, DUO's schedule) or
    decayed to 0 at `cfg.steps` along a half cosine or a straight line.

    A function of the step and of `cfg.steps` alone, so an interrupted run resumes on
    the same schedule; extending a decayed run (`--resume` with a larger `--steps`)
    continues on the longer run's schedule from the step reached.
    """
    warm = min(1.0, (step + 1) / cfg.warmup) if cfg.warmup > 0 else 1.0
    if cfg.lr_decay == "none" or step < cfg.warmup:
        return cfg.lr * warm
    span = max(cfg.steps - cfg.warmup, 1)
    frac = min(1.0, (step - cfg.warmup) / span)      # 0 right after warm-up, -> 1 at the end
    if cfg.lr_decay == "cosine":
        return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * frac))
    return cfg.lr * (1.0 - frac)


def check_device(name: str, what: str = "--device") -> torch.device:
    """The torch device `name` (auto | cpu | cuda | cuda:N), or a one-line ValueError
    when it is unknown or names a GPU this machine does not have."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(f"{what} must be auto, cpu or cuda[:N], got {name!r}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"{what} must be auto, cpu or cuda[:N], got {name!r}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{what} {name}: no CUDA GPU is available on this machine "
                             f"(use --device cpu or auto)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"{what} {name}: this machine has {torch.cuda.device_count()} "
                             f"CUDA device(s)")
    return dev


def _resolve_device(name: str) -> torch.device:
    return check_device(name)


class TrainingDiverged(ValueError):
    """A non-finite loss or weight: training stopped, the last good checkpoint kept."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; `step` is the step saved to `checkpoint` (None: nothing written)."""

    def __init__(self, step: int, checkpoint=None):
        super().__init__(step, checkpoint)
        self.step, self.checkpoint = step, checkpoint


class _DeferredSigint:
    """Hold SIGINT until the end of the current step (main thread only).

    The first Ctrl-C sets `hit`; the loop checks it between steps, where the
    weights, optimiser, EMA, step counter and RNG states agree, so the checkpoint
    written then resumes exactly. A second Ctrl-C interrupts at once (nothing new
    is written then: the previous checkpoint stays).
    """

    def __init__(self):
        self.hit = False
        self._installed = False
        self._old = None

    def _handler(self, signum, frame):
        if self.hit:
            raise KeyboardInterrupt
        self.hit = True

    def __enter__(self):
        import signal
        import threading
        if threading.current_thread() is threading.main_thread():
            try:
                self._old = signal.signal(signal.SIGINT, self._handler)
                self._installed = True
            except (ValueError, OSError):
                pass
        return self

    def __exit__(self, *exc):
        if self._installed:
            import signal
            # None: the previous handler was not set from Python; give back Python's own
            signal.signal(signal.SIGINT, self._old if self._old is not None
                          else signal.default_int_handler)
        return False


@contextlib.contextmanager
def _flush_denormals(enabled: bool):
    """Inside: this thread's CPU flushes subnormal floats to zero (`torch.set_flush_denormal`,
    the FTZ/DAZ bits). Generalising models drive some activations and gradients below
    float32's smallest normal number (which ones was not traced; exponentials of logits
    the model rules out are the likely source), where x86 arithmetic takes a slow
    microcode path; flushing them moves each value by < 1.2e-38. torch
    cannot report the previous mode; it is restored to torch's default (off). The mode
    is a per-thread CPU register: torch's intra-op worker threads keep theirs, so it
    takes full effect on one thread (every sweep unit) and partly on several."""
    if not enabled:
        yield
        return
    if not torch.set_flush_denormal(True):
        raise ValueError("flush_denormal=True: this CPU cannot flush subnormal numbers "
                         "(torch.set_flush_denormal needs x86 SSE3)")
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def _all_finite(model) -> bool:
    with torch.no_grad():
        return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def _dist_info():
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _maybe_init_distributed(device_name: str):
    """Initialise the process group when launched by torchrun with WORLD_SIZE > 1."""
    import torch.distributed as dist
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or dist.is_initialized():
        return False
    cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    return True


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


class EMA:
    """Exponential moving average of the parameters (DUO style: list in parameters() order)."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.num_updates = 0
        self.shadow_params = [p.detach().clone() for p in model.parameters()]

    @torch.no_grad()
    def update(self, model):
        self.num_updates += 1
        d = min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        for s, p in zip(self.shadow_params, model.parameters()):
            s.mul_(d).add_(p.detach(), alpha=1 - d)

    def copy_to(self, model):
        with torch.no_grad():
            for s, p in zip(self.shadow_params, model.parameters()):
                p.copy_(s)

    def state_dict(self):
        return {"decay": self.decay, "num_updates": self.num_updates,
                "shadow_params": [s.clone() for s in self.shadow_params]}

    def load_state_dict(self, d):
        self.decay = d["decay"]
        self.num_updates = d["num_updates"]
        for s, v in zip(self.shadow_params, d["shadow_params"]):
            s.copy_(v)


def _masked_loss_sum(model, x, inp, alpha, dalpha, z, mask, loss_kind, device):
    """Sum over non-pad positions of the per-token loss of one training batch (the
    part of a step that `TrainConfig.compile` hands to torch.compile)."""
    per = _loss_terms(model, x, inp, alpha, dalpha, -torch.log(alpha), z, loss_kind, device)
    return (per * mask).sum()


def _compiled_loss(cfg: TrainConfig, device: torch.device):
    """`_masked_loss_sum`, compiled when `cfg.compile` (inductor; one graph per shape).

    Dynamo's caches are cleared first: each run builds a new model, whose parameters
    would otherwise count against the recompilation limit of a process that trains
    many models (a sweep worker). Compiled kernels are reused from inductor's on-disk
    cache ($TORCHINDUCTOR_CACHE_DIR), so a second model of the same shape compiles in
    seconds.
    """
    if not cfg.compile:
        return _masked_loss_sum
    if device.type == "cpu":
        import shutil
        cxx = os.environ.get("CXX") or next((c for c in ("g++", "c++", "clang++") if shutil.which(c)), None)
        if cxx is None:
            raise ValueError("compile=True (--compile) needs a C++ compiler for torch.compile on "
                             "the CPU (g++, c++ or clang++ on PATH, or $CXX); none was found")
    torch.compiler.reset()
    return torch.compile(_masked_loss_sum, dynamic=False)


def _loss_terms(model, batch_tokens, inp, alpha, dalpha, sigma, z, loss_kind, device):
    with _autocast(device):
        logits = model(inp, sigma)
    log_x = F.log_softmax(logits.float(), dim=-1)
    if loss_kind == "nelbo":
        return nelbo_per_token(log_x, batch_tokens, z, alpha, dalpha)
    return x0_cross_entropy_per_token(log_x, batch_tokens)


@torch.no_grad()
def validation_nelbo(model, tokens: torch.Tensor, schedule, batch_size: int, batches: int,
                     seed: int, pad_id=None, device=None) -> float:
    """NELBO (eq. 3) in nats per non-pad token on `tokens`, with a fixed generator.

    The same seed gives the same times and corruptions at every evaluation, so values
    along a run are comparable. Always the NELBO, whatever the training loss.
    """
    device = device or next(model.parameters()).device
    g = torch.Generator().manual_seed(seed)
    was = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        for _ in range(batches):
            idx = torch.randint(tokens.shape[0], (batch_size,), generator=g)
            x = tokens[idx]
            t = sample_times(batch_size, g, schedule.eps)
            alpha, dalpha = schedule.alpha(t), schedule.dalpha(t)
            z = forward_corrupt(x, alpha, model.config.vocab_size, g)
            x, z = x.to(device), z.to(device)
            alpha, dalpha = alpha.to(device), dalpha.to(device)
            per = _loss_terms(model, x, z, alpha, dalpha, -torch.log(alpha), z, "nelbo", device)
            mask = torch.ones_like(x, dtype=torch.bool) if pad_id is None else x != pad_id
            total += float((per * mask).sum())
            count += int(mask.sum())
    finally:
        model.train(was)
    return total / max(count, 1)


# --------------------------------------------------------------------------- checkpoints
def save_checkpoint(path, *, model, ema, optimizer, step, cfg, model_cfg, dataset,
                    gens, history, rng_states=None) -> None:
    """Write a checkpoint atomically. Only tensors and JSON-able data (weights_only-safe)."""
    obj = {
        "format": CKPT_FORMAT,
        "step": int(step),
        "model_config": model_cfg.to_dict(),
        "train_config": cfg.to_dict(),
        "tokenizer": dataset.tokenizer.to_dict(),
        "data": dataset.identity(),
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "ema": ema.state_dict(),
        "optimizer": optimizer.state_dict(),
        "rng": {
            "torch": rng_states if rng_states is not None else [torch.get_rng_state()],
            "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
            "data": gens["data"].get_state(),
            "noise": gens["noise"].get_state(),
        },
        "history": history,
    }
    with atomic_write(path) as fh:
        torch.save(obj, fh)


def read_checkpoint(path, map_location="cpu") -> dict:
    """The raw contents of a uddm checkpoint (weights, EMA, optimiser, RNG states,
    configurations, data identity), checked: ValueError naming the file when it is
    truncated, foreign or missing keys. `load_checkpoint` builds the model from it."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"checkpoint {path} is truncated or not a uddm checkpoint ({first})") from None
    if not isinstance(obj, dict) or obj.get("format") != CKPT_FORMAT:
        raise ValueError(f"{path} is not a uddm checkpoint (format "
                         f"{obj.get('format') if isinstance(obj, dict) else type(obj).__name__!r})")
    missing = [k for k in _CKPT_KEYS if k not in obj]
    if missing:
        raise ValueError(f"checkpoint {path} is missing {', '.join(map(repr, missing))} "
                         f"(written by another program, or damaged)")
    try:
        ModelConfig.from_dict(obj["model_config"])
        for k in ("data", "rng"):
            if not isinstance(obj[k], dict):
                raise ValueError(f"its {k!r} entry is not a dictionary")
        for k in (("data", "spec"), ("data", "sha256"), ("rng", "torch"), ("rng", "data"),
                  ("rng", "noise")):
            if k[1] not in obj[k[0]]:
                raise ValueError(f"it lacks {k[0]}[{k[1]!r}]")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"checkpoint {path} has a bad configuration: {exc}") from None
    return obj


_CKPT_KEYS = ("step", "model_config", "train_config", "tokenizer", "data", "model", "ema",
              "optimizer", "rng", "history")


def load_checkpoint(path, use_ema: bool = False, map_location="cpu"):
    """Load a uddm checkpoint without running pickled code.

    Returns (model in eval mode, checkpoint dict). By default the raw (trained)
    weights: the paper's evaluation code loads the checkpoint and never copies the EMA
    in, so raw weights are what its figures measure. `use_ema=True` loads the EMA
    shadow weights instead (opt-in everywhere in this project).
    """
    from uddm.model import check_finite_weights, check_model_memory
    obj = read_checkpoint(path, map_location)
    mcfg = ModelConfig.from_dict(obj["model_config"])
    check_model_memory(mcfg, f"checkpoint {path}")
    model = DiT(mcfg)
    _load_state(model, obj["model"], path)
    if use_ema:
        params = list(model.parameters())
        shadow = obj["ema"].get("shadow_params", []) if isinstance(obj["ema"], dict) else []
        if len(shadow) != len(params) or any(tuple(p.shape) != tuple(s.shape)
                                             for p, s in zip(params, shadow)):
            raise ValueError(f"checkpoint {path}: EMA does not match the model")
        with torch.no_grad():
            for p, s in zip(params, shadow):
                p.copy_(s)
    check_finite_weights(model, f"checkpoint {path}" + (" (EMA)" if use_ema else ""))
    return model.to(map_location).eval(), obj


def _load_state(model, state, path) -> None:
    """load_state_dict with a one-line error when the weights belong to another model."""
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        first = " ".join(str(exc).split())[:300]
        raise ValueError(f"checkpoint {path}: the weights do not match its model configuration "
                         f"{model.config.to_dict()} ({first})") from None


# --------------------------------------------------------------------------- the loop
def train(cfg: TrainConfig, data: DataSpec | Dataset, out=None, resume=None,
          dataset: Dataset | None = None, callback=None, *, bar: bool = True,
          status_every: float | None = None) -> TrainResult:
    """Train a DiT on `data`; write the checkpoint to `out` (if given).

    `data`: a DataSpec (the data are built from it) or a ready Dataset (for example
    from `uddm.data.dataset_from_texts`).

    `resume`: a checkpoint path to continue from (up to `cfg.steps` total steps; the
    data must be the same, checked by SHA-256). `dataset`: a prebuilt dataset (skips
    building it from `data`). `callback(step, record)` is called after each logged step.

    Progress (rank 0, `memkit.progress`), when `cfg.progress` is true: a tqdm bar on a
    terminal; off a terminal (a log, a pipe), or everywhere with `bar=False`, one status
    line every `status_every` seconds (default 30 s, or $MEMKIT_STATUS_EVERY):
    "uddm cpu-xs: step 300/1000 (30%), loss 2.4142, val_nelbo ..., 5120 tokens/s,
    1m02s elapsed, ETA 2m25s". `cfg.progress = False` prints nothing. Progress output
    never changes a number: it reads the loop's counters from a background thread.
    Under torchrun (WORLD_SIZE > 1) the process group is created here and torn down
    at the end, so every rank exits cleanly.
    """
    cfg.validate()
    if isinstance(data, Dataset):
        if dataset is not None and dataset is not data:
            raise ValueError("give the Dataset as `data` or as `dataset`, not two different ones")
        data, dataset = data.spec, data
    started = _maybe_init_distributed(cfg.device)
    import torch.distributed as dist

    try:
        result = _train(cfg, data, out, resume, dataset, callback, bar, status_every)
        if started:
            dist.barrier()          # on success only: a failed rank must not wait here
        return result
    finally:
        if started:
            dist.destroy_process_group()


def _train(cfg: TrainConfig, data: DataSpec, out, resume, dataset, callback, bar=True,
           status_every=None) -> TrainResult:
    rank, world = _dist_info()
    device = _resolve_device(cfg.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    if cfg.batch_size % world:
        raise ValueError(f"batch_size {cfg.batch_size} is not divisible by {world} processes")

    ck = read_checkpoint(resume) if resume is not None else None
    tok_dict = ck["tokenizer"] if ck is not None else None
    # the model length fixes the data length when the user gave none
    probe_len = cfg.length or get_config(cfg.model).length
    if data.length is None:
        data = replace(data, length=probe_len)
    if data.length > probe_len:
        raise ValueError(f"sequence length {data.length} is longer than the model's "
                         f"length {probe_len} (configuration {cfg.model!r})")
    if dataset is None:
        dataset = build_dataset(data, tokenizer_dict=tok_dict)
    if ck is not None and ck["data"]["sha256"] != dataset.identity()["sha256"]:
        raise ValueError(f"the data differ from those of checkpoint {resume} "
                         f"(spec {ck['data']['spec']})")
    K = dataset.tokenizer.vocab_size
    model_cfg = cfg.model_config(K)
    if ck is not None and ModelConfig.from_dict(ck["model_config"]).to_dict() != model_cfg.to_dict():
        raise ValueError(f"checkpoint {resume} has model {ck['model_config']}, "
                         f"not {model_cfg.to_dict()} (another vocabulary or configuration?)")

    from uddm.model import check_model_memory
    if device.type == "cpu":
        check_model_memory(model_cfg, f"--config {cfg.model} with --batch-size {cfg.batch_size}",
                           training=True, batch_size=max(1, cfg.batch_size // world))

    torch.manual_seed(cfg.seed + rank)
    model = DiT(model_cfg).to(device)
    ema_model = DiT(model_cfg).to(device)     # built before any RNG state is restored
    ema = EMA(model, cfg.ema)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=tuple(cfg.betas),
                            weight_decay=cfg.weight_decay,
                            **({"fused": True} if cfg.fused_adam else {}))
    gens = {"data": torch.Generator().manual_seed(cfg.seed),
            "noise": torch.Generator().manual_seed(cfg.seed + 1_000_003)}
    schedule = make_schedule(cfg.schedule, cfg.eps)
    curriculum = DuoCurriculum(K) if cfg.curriculum_steps > 0 else None
    history: list = []
    step = 0
    if ck is not None:
        _load_state(model, ck["model"], resume)
        from uddm.model import check_finite_weights
        check_finite_weights(model, f"checkpoint {resume}")
        try:
            opt.load_state_dict(ck["optimizer"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise ValueError(f"checkpoint {resume}: its optimiser state does not match the model "
                             f"({' '.join(str(exc).split())[:200]})") from None
        ema.load_state_dict(ck["ema"])
        step = ck["step"]
        history = list(ck["history"])
        gens["data"].set_state(ck["rng"]["data"])
        gens["noise"].set_state(ck["rng"]["noise"])
        states = ck["rng"]["torch"]
        torch.set_rng_state(states[rank] if len(states) == world else states[0])
        if device.type == "cuda" and ck["rng"]["cuda"]:
            torch.cuda.set_rng_state_all(ck["rng"]["cuda"])

    ddp_model = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP
        ddp_model = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)

    pad = dataset.pad_id
    train_x = dataset.train
    eval_x = dataset.test if dataset.test.shape[0] > 0 else dataset.train
    B, b = cfg.batch_size, cfg.batch_size // world
    lo, hi = rank * b, (rank + 1) * b

    def evaluate():
        ema.copy_to(ema_model)
        return validation_nelbo(ema_model, eval_x, schedule, min(B, 256), cfg.eval_batches,
                                seed=cfg.seed + 7, pad_id=pad, device=device)

    saved = {"step": ck["step"] if ck is not None and resume is not None and out is not None
             and os.path.realpath(resume) == os.path.realpath(out) else None}

    def checkpoint():
        if out is None:
            return
        if not _all_finite(model) or not _all_finite_list(ema.shadow_params):
            raise TrainingDiverged(_diverged_message(step, "a weight is not finite", cfg, out,
                                                     saved["step"]))
        rng_states = [torch.get_rng_state()]
        if world > 1:
            import torch.distributed as dist
            rng_states = [torch.empty_like(rng_states[0]) for _ in range(world)]
            dist.all_gather(rng_states, torch.get_rng_state())
        if rank == 0:
            save_checkpoint(out, model=model, ema=ema, optimizer=opt, step=step, cfg=cfg,
                            model_cfg=model_cfg, dataset=dataset, gens=gens,
                            history=history, rng_states=rng_states)
        saved["step"] = step

    loss_fn = _compiled_loss(cfg, device)
    report = _Report(cfg, model_cfg.name, step, bar, status_every) \
        if cfg.progress and rank == 0 else None
    model.train()
    t_last, tok_count = time.perf_counter(), 0
    consistent = True          # weights, optimiser, EMA, step and RNG states agree
    try:
        with _DeferredSigint() as sigint, _flush_denormals(cfg.flush_denormal and device.type == "cpu"):
            while step < cfg.steps:
                if _stop_requested(sigint, world):
                    checkpoint()
                    raise TrainingInterrupted(step, out)
                consistent = False
                # ---- the global batch, identical on every rank; each rank takes its slice
                idx = torch.randint(train_x.shape[0], (B,), generator=gens["data"])
                x = train_x[idx]
                t = sample_times(B, gens["noise"], cfg.eps, cfg.antithetic)
                if curriculum is not None and step < cfg.curriculum_steps:
                    soft, z, alpha, dalpha = curriculum.sample(x, t, gens["noise"])
                    inp = soft[lo:hi].to(device)
                else:
                    alpha, dalpha = schedule.alpha(t), schedule.dalpha(t)
                    z = forward_corrupt(x, alpha, K, gens["noise"])
                    inp = z[lo:hi].to(device)
                mask_all = torch.ones_like(x, dtype=torch.bool) if pad is None else x != pad
                n_tok = int(mask_all.sum())
                xs, zs = x[lo:hi].to(device), z[lo:hi].to(device)
                a_s, da_s = alpha[lo:hi].float().to(device), dalpha[lo:hi].float().to(device)
                mask = mask_all[lo:hi].to(device)
                # ---- forward / backward
                lr = learning_rate(cfg, step)
                for g in opt.param_groups:
                    g["lr"] = lr
                loss_sum = loss_fn(ddp_model, xs, inp, a_s, da_s, zs, mask, cfg.loss, device)
                loss = loss_sum * (world / max(n_tok, 1))   # DDP averages -> global token mean
                opt.zero_grad(set_to_none=True)
                loss.backward()
                gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip) \
                    if cfg.grad_clip > 0 else torch.tensor(float("nan"))
                # ---- divergence: a non-finite loss stops before the weights are touched
                lval = loss_sum.detach().float()
                if world > 1:
                    import torch.distributed as dist
                    dist.all_reduce(lval)
                if not math.isfinite(float(lval)):
                    raise TrainingDiverged(_diverged_message(step + 1, f"the loss is {float(lval)}",
                                                             cfg, out, saved["step"]))
                try:
                    opt.step()
                except RuntimeError as exc:      # e.g. lr / bias correction overflows
                    if "overflow" not in str(exc):
                        raise
                    raise TrainingDiverged(_diverged_message(
                        step + 1, "the optimiser step overflowed", cfg, out, saved["step"])) from None
                ema.update(model)
                step += 1
                # ---- logging: the global mean loss
                rec = {"step": step, "loss": float(lval) / max(n_tok, 1), "lr": lr,
                       "grad_norm": float(gnorm)}
                tok_count += n_tok
                if (cfg.eval_every and step % cfg.eval_every == 0) or step == cfg.steps:
                    rec["val_nelbo"] = evaluate()
                    now = time.perf_counter()
                    rec["tokens_per_s"] = tok_count / max(now - t_last, 1e-9)
                    t_last, tok_count = now, 0
                history.append(rec)
                consistent = True
                if report is not None:
                    report.update(rec, n_tok)
                if callback is not None:
                    callback(step, rec)
                if cfg.ckpt_every and step % cfg.ckpt_every == 0 and step < cfg.steps:
                    checkpoint()
            if not _all_finite(model):
                raise TrainingDiverged(_diverged_message(step, "a weight is not finite", cfg,
                                                         out, saved["step"]))
            checkpoint()
    except TrainingInterrupted:
        raise
    except KeyboardInterrupt:
        # an interrupt inside a step (a second Ctrl-C, or outside the main thread): the
        # state is consistent only between steps; otherwise keep the last checkpoint
        if consistent:
            try:
                checkpoint()
            except TrainingDiverged:
                pass
            else:
                raise TrainingInterrupted(step, out) from None
        raise TrainingInterrupted(saved["step"] if saved["step"] is not None else 0,
                                  out if saved["step"] is not None else None) from None
    finally:
        if report is not None:
            report.close()
    ema.copy_to(ema_model)
    ema_model.eval()
    return TrainResult(model=model, ema_model=ema_model, history=history, dataset=dataset,
                       step=step)


class _Report:
    """The bar / status line of one training run (memkit.progress.Progress)."""

    def __init__(self, cfg: TrainConfig, name: str, step: int, bar: bool, every):
        from memkit.progress import Progress
        self.name, self.total, self.step0 = name, cfg.steps, step
        self.step, self.loss, self.val, self.tokens = step, None, None, 0
        self.t0 = time.monotonic()
        self.progress = Progress(cfg.steps, desc=f"uddm {name}", unit="step", initial=step,
                                 bar=bar, every=every, status=self.line,
                                 dynamic_ncols=True, mininterval=0.5)

    def update(self, rec: dict, n_tok: int) -> None:
        self.step, self.loss = rec["step"], rec["loss"]
        self.tokens += n_tok
        post = {"loss": f"{rec['loss']:.4f}"}
        if "val_nelbo" in rec:
            self.val = rec["val_nelbo"]
        if self.val is not None:
            post["val_nelbo"] = f"{self.val:.4f}"
        self.progress.update(1, **post)

    def line(self) -> str:
        from memkit.progress import format_seconds
        step, elapsed = self.step, time.monotonic() - self.t0
        s = f"uddm {self.name}: step {step}/{self.total} ({100 * step / max(self.total, 1):.0f}%)"
        if self.loss is not None:
            s += f", loss {self.loss:.4f}"
        if self.val is not None:
            s += f", val_nelbo {self.val:.4f}"
        done = step - self.step0
        s += f", {self.tokens / max(elapsed, 1e-9):.0f} tokens/s, {format_seconds(elapsed)} elapsed"
        if 0 < done and step < self.total:
            s += f", ETA {format_seconds(elapsed / done * (self.total - step))}"
        return s

    def close(self) -> None:
        self.progress.close()


def _all_finite_list(tensors) -> bool:
    with torch.no_grad():
        return all(bool(torch.isfinite(t).all()) for t in tensors)


def _stop_requested(sigint: _DeferredSigint, world: int) -> bool:
    if world <= 1:
        return sigint.hit
    import torch.distributed as dist
    flag = torch.tensor([1.0 if sigint.hit else 0.0])
    dist.all_reduce(flag)
    return bool(flag.item() > 0)


def _diverged_message(step, what, cfg, out, saved_step) -> str:
    if out is None:
        kept = "nothing was written"
    elif saved_step is None:
        kept = f"no checkpoint was written to {out}"
    else:
        kept = f"the last good checkpoint {out} (step {saved_step}) is kept"
    return (f"training diverged at step {step}: {what} (lr {cfg.lr:g}); {kept}; "
            f"retry with a smaller --lr or --grad-clip")
