"""The diffusion transformer (DiT) of the paper / DUO code base, in one readable file.

    tokens (B, L) --vocab_embed--> (B, L, d)
    sigma  (B,)   --sinusoidal(256)--Linear--SiLU--Linear--> SiLU --> c (B, cond_dim)
    n_blocks x [ x += gate_msa * Attn(modulate(LN(x), shift_msa, scale_msa))
                 x += gate_mlp * MLP (modulate(LN(x), shift_mlp, scale_mlp)) ]   (adaLN-Zero)
    final: modulate(LN(x), shift, scale) -> Linear(d, K)  -> logits (B, L, K)

No absolute positions: rotary embedding (rotate-half, base 10000) on q and k; non-causal
attention (`attention`: torch's fused kernel on CUDA, the explicit formula on the CPU). LayerNorms have no bias
and run in float32. The adaLN modulations and the output layer are zero-initialised, so
the output is exactly uniform at initialisation. Module and parameter names follow the
DUO code base, so its checkpoints load with the prefix `backbone.` stripped
(`load_duo_checkpoint`).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["ModelConfig", "CONFIGS", "get_config", "DiT", "count_parameters",
           "estimate_bytes", "check_model_memory", "check_finite_weights",
           "parameter_table", "load_duo_checkpoint", "model_flops_per_token"]


# --------------------------------------------------------------------------- configuration
@dataclass(frozen=True)
class ModelConfig:
    """Shape of a DiT. `vocab_size` is filled in from the tokenizer at training time."""

    name: str = "cpu-xs"
    hidden: int = 64
    blocks: int = 2
    heads: int = 4
    length: int = 32
    cond_dim: int = 128
    dropout: float = 0.1
    vocab_size: int = 0
    mlp_ratio: int = 4
    # what the output was trained to be: "nelbo" (eq. 3, the paper's: x_theta is the
    # x of eq. 2) or "x0_ce" (cross-entropy on the clean token: p(x | z_t)); the
    # reverse steps convert the latter before eq. 2 (see uddm.sample.prediction_logits)
    prediction: str = "nelbo"

    def __post_init__(self):
        from memkit.validate import check_count, check_number
        if self.prediction not in ("nelbo", "x0_ce"):
            raise ValueError(f"prediction must be 'nelbo' or 'x0_ce', got {self.prediction!r}")
        if not isinstance(self.name, str):
            raise ValueError(f"model name must be a string, got {self.name!r}")
        for f in ("hidden", "blocks", "heads", "length", "cond_dim", "mlp_ratio"):
            object.__setattr__(self, f, check_count(f"model {f}", getattr(self, f)))
        object.__setattr__(self, "vocab_size", check_count("vocab_size", self.vocab_size, minimum=0))
        object.__setattr__(self, "dropout", check_number("dropout", self.dropout, 0.0, 1.0,
                                                         high_open=True))
        if self.hidden % self.heads:
            raise ValueError(f"hidden {self.hidden} is not divisible by heads {self.heads}")
        if (self.hidden // self.heads) % 2:
            raise ValueError(f"head_dim {self.hidden // self.heads} must be even (rotary)")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown model configuration keys {sorted(unknown)}")
        return cls(**d)

    def with_(self, **kw) -> "ModelConfig":
        return replace(self, **kw)


CONFIGS: dict[str, ModelConfig] = {
    # paper, Table 1 (length 128, cond_dim 128, dropout 0.1)
    "tiny": ModelConfig("tiny", 256, 8, 8, 128),
    "small": ModelConfig("small", 768, 12, 12, 128),
    "medium": ModelConfig("medium", 1024, 24, 16, 128),
    # CPU scale: train in minutes on two cores
    "cpu-xxs": ModelConfig("cpu-xxs", 32, 1, 2, 32, cond_dim=32),
    "cpu-xs": ModelConfig("cpu-xs", 64, 2, 4, 32),
    "cpu-s": ModelConfig("cpu-s", 128, 4, 4, 64),
    "cpu-m": ModelConfig("cpu-m", 192, 6, 6, 64),
}


def get_config(name: str, **overrides) -> ModelConfig:
    """A named configuration, optionally with fields replaced (e.g. vocab_size=...)."""
    if name not in CONFIGS:
        raise ValueError(f"unknown model configuration {name!r}; choose one of {list(CONFIGS)}")
    return CONFIGS[name].with_(**{k: v for k, v in overrides.items() if v is not None})


# --------------------------------------------------------------------------- layers
class LayerNorm(nn.Module):
    """LayerNorm without bias, computed in float32 (as DUO)."""

    def __init__(self, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            return F.layer_norm(x.float(), [self.dim], weight=self.weight.float())


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x (1 + scale) + shift, in one fused pass."""
    return torch.addcmul(shift, x, 1 + scale)


_GELU_C = 2.0 * math.sqrt(2.0 / math.pi)      # 2 sqrt(2/pi)
_GELU_K = _GELU_C * 0.044715


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """DUO's MLP activation, the tanh approximation of GELU, written as a sigmoid:

        0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) = x sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3))

    (0.5 (1 + tanh y) = sigmoid(2 y)). The same function as
    `F.gelu(x, approximate="tanh")` to float32 round-off, and no cancellation at
    large negative x. It is what a compiled step traces: torch's tanh-GELU CPU kernel,
    and inductor's code for it, slow down 4-5x when |x| reaches ~20 (pre-activations
    of trained models do), the sigmoid does not (benchmarks/README.md).
    """
    return x * torch.sigmoid(x * (_GELU_C + _GELU_K * x * x))


class GELUTanh(nn.Module):
    """`nn.GELU(approximate="tanh")` (no parameters, so DUO's parameter names hold):
    torch's own kernel when run eagerly, `gelu_tanh` inside torch.compile."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.compiler.is_compiling():
            return gelu_tanh(x)
        return F.gelu(x, approximate="tanh")


class Rotary(nn.Module):
    """Rotary position tables (base 10000, rotate-half layout), cached per length."""

    def __init__(self, head_dim: int, base: float = 10000.0):
        super().__init__()
        inv = 1.0 / (base ** (torch.arange(0, head_dim, 2).float() / head_dim))
        self.register_buffer("inv_freq", inv, persistent=False)
        self._cache: tuple | None = None

    def forward(self, seq_len: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        key = (seq_len, str(device))
        if self._cache is None or self._cache[0] != key:
            t = torch.arange(seq_len, device=device, dtype=torch.float32)
            freqs = torch.outer(t, self.inv_freq.to(device))
            emb = torch.cat((freqs, freqs), dim=-1)
            self._cache = (key, emb.cos(), emb.sin())
        return self._cache[1], self._cache[2]


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Non-causal attention softmax(q k^T / sqrt(hd)) v; q, k, v: (B, H, L, hd) -> (B, H, L, hd).

    CUDA runs torch's fused `scaled_dot_product_attention` (flash). The CPU runs the
    explicit formula: at the CPU models' sizes (L <= 64, hd <= 32) it is as fast, and it
    does not depend on the CPU flash kernel, whose results have depended on the input
    strides (pytorch/pytorch#187506) and on the instruction set it dispatches to.
    """
    if q.is_cuda:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.0, is_causal=False)
    scores = torch.matmul(q, k.transpose(-1, -2)) * (q.shape[-1] ** -0.5)   # (B, H, L, L)
    return torch.matmul(torch.softmax(scores, dim=-1), v)


def apply_rotary(q: torch.Tensor, k: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor):
    """q, k: (..., L, D); cos, sin: (L, D). Rotate-half form: x cos + rotate_half(x) sin."""
    cos = cos.to(q.dtype)
    sin = sin.to(q.dtype)
    qk = torch.stack((q, k))                      # one pass for both
    qk = torch.addcmul(qk * cos, rotate_half(qk), sin)
    return qk[0], qk[1]


class EmbeddingLayer(nn.Module):
    """Token embedding as a raw (K, d) parameter (DUO name `vocab_embed.embedding`).

    Accepts ids (B, L) or probability vectors (B, L, K) (the DUO curriculum's soft input).
    """

    def __init__(self, dim: int, vocab_size: int):
        super().__init__()
        self.embedding = nn.Parameter(torch.empty(vocab_size, dim))
        nn.init.kaiming_uniform_(self.embedding, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            return x.to(self.embedding.dtype) @ self.embedding
        return self.embedding[x]


class TimestepEmbedder(nn.Module):
    """Sinusoidal embedding of sigma (256 frequencies, [cos, sin]) -> Linear -> SiLU -> Linear."""

    def __init__(self, cond_dim: int, frequency_embedding_size: int = 256):
        super().__init__()
        self.frequency_embedding_size = frequency_embedding_size
        self.mlp = nn.Sequential(nn.Linear(frequency_embedding_size, cond_dim), nn.SiLU(),
                                 nn.Linear(cond_dim, cond_dim))

    @staticmethod
    def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0):
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) *
                          torch.arange(half, dtype=torch.float32, device=t.device) / half)
        args = t[:, None].float() * freqs[None]
        return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)

    def forward(self, sigma: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.timestep_embedding(sigma, self.frequency_embedding_size))


class DDiTBlock(nn.Module):
    """Pre-LN transformer block with adaLN-Zero modulation (shift, scale, gate) x 2."""

    def __init__(self, dim: int, n_heads: int, cond_dim: int, mlp_ratio: int = 4,
                 dropout: float = 0.1):
        super().__init__()
        self.n_heads = n_heads
        # definition order = DUO's, so parameters() order matches its EMA shadow list
        self.norm1 = LayerNorm(dim)
        self.attn_qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.attn_out = nn.Linear(dim, dim, bias=False)
        self.dropout1 = nn.Dropout(dropout)
        self.norm2 = LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim, bias=True),
                                 GELUTanh(),
                                 nn.Linear(mlp_ratio * dim, dim, bias=True))
        self.dropout2 = nn.Dropout(dropout)
        self.adaLN_modulation = nn.Linear(cond_dim, 6 * dim, bias=True)
        nn.init.zeros_(self.adaLN_modulation.weight)
        nn.init.zeros_(self.adaLN_modulation.bias)

    def forward(self, x: torch.Tensor, rotary: tuple, c: torch.Tensor) -> torch.Tensor:
        B, L, D = x.shape
        (shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp,
         gate_mlp) = self.adaLN_modulation(c)[:, None].chunk(6, dim=2)
        h = modulate(self.norm1(x), shift_msa, scale_msa).to(x.dtype)
        qkv = self.attn_qkv(h).view(B, L, 3, self.n_heads, D // self.n_heads)
        qkv = qkv.permute(2, 0, 3, 1, 4)                        # (3, B, H, L, hd)
        cos, sin = rotary
        qk = torch.addcmul(qkv[:2] * cos.to(qkv.dtype), rotate_half(qkv[:2]), sin.to(qkv.dtype))
        q, k, v = qk[0], qk[1], qkv[2]
        a = attention(q, k, v).transpose(1, 2).reshape(B, L, D)     # (B, L, D)
        x = x + self.dropout1(gate_msa * self.attn_out(a))
        h = modulate(self.norm2(x), shift_mlp, scale_mlp).to(x.dtype)
        x = x + self.dropout2(gate_mlp * self.mlp(h))
        return x


class DDitFinalLayer(nn.Module):
    """LayerNorm + adaLN (shift, scale) + Linear(d, K), zero-initialised."""

    def __init__(self, hidden: int, out_channels: int, cond_dim: int):
        super().__init__()
        self.norm_final = LayerNorm(hidden)
        self.linear = nn.Linear(hidden, out_channels)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.adaLN_modulation = nn.Linear(cond_dim, 2 * hidden, bias=True)
        nn.init.zeros_(self.adaLN_modulation.weight)
        nn.init.zeros_(self.adaLN_modulation.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c)[:, None].chunk(2, dim=2)
        return self.linear(modulate(self.norm_final(x), shift, scale).to(x.dtype))


# --------------------------------------------------------------------------- network
class DiT(nn.Module):
    """x_theta logits (eqs. 4-5): one softmax over K per position, positions factorised."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.vocab_size < 2:
            raise ValueError(f"vocab_size must be >= 2, got {config.vocab_size}")
        self.config = config
        d = config.hidden
        self.vocab_embed = EmbeddingLayer(d, config.vocab_size)
        self.sigma_map = TimestepEmbedder(config.cond_dim)
        self.rotary_emb = Rotary(d // config.heads)
        self.blocks = nn.ModuleList(
            DDiTBlock(d, config.heads, config.cond_dim, config.mlp_ratio, config.dropout)
            for _ in range(config.blocks))
        self.output_layer = DDitFinalLayer(d, config.vocab_size, config.cond_dim)

    def forward(self, tokens: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """tokens: (B, L) ids or (B, L, K) soft inputs; sigma: (B,) = -log alpha_t.

        Returns float32 logits (B, L, K); x_theta = softmax(logits) (no logit masked).
        """
        L = tokens.shape[1]
        if L > self.config.length:
            raise ValueError(f"sequence length {L} is longer than the model's "
                             f"length {self.config.length}")
        x = self.vocab_embed(tokens)
        c = F.silu(self.sigma_map(sigma))
        rotary = self.rotary_emb(L, x.device)
        for block in self.blocks:
            x = block(x, rotary, c)
        return self.output_layer(x, c).float()


def count_parameters(model_or_config, vocab_size: int | None = None) -> int:
    """Number of trainable parameters of a model, or of a config (built on the meta device)."""
    if isinstance(model_or_config, nn.Module):
        return sum(p.numel() for p in model_or_config.parameters())
    cfg = model_or_config
    if vocab_size is not None:
        cfg = cfg.with_(vocab_size=vocab_size)
    with torch.device("meta"):
        m = DiT(cfg)
    return sum(p.numel() for p in m.parameters())


def estimate_bytes(cfg: ModelConfig, training: bool = False, batch_size: int = 1) -> float:
    """Bytes needed to build `cfg` (float32 weights) and run it on a batch.

    Training adds gradients, AdamW's two moments and the EMA (5 more copies of the
    weights) and the activations kept for the backward pass. Counted from the
    shapes alone: nothing is allocated.
    """
    d, L, K, c, r = cfg.hidden, cfg.length, max(cfg.vocab_size, 2), cfg.cond_dim, cfg.mlp_ratio
    per_block = (3 + 1 + 2 * r) * d * d + r * d + 6 * d * c + 6 * d + 2 * d
    params = float(K * d + 256 * c + c * c + 2 * c + cfg.blocks * per_block
                   + d * K + K + 2 * d * c + 2 * d + d)
    copies = 7 if training else 1
    acts = float(batch_size) * L * (cfg.blocks * (12 + 2 * r) * d + 3 * K)
    acts += float(batch_size) * cfg.heads * L * L * cfg.blocks
    return 4.0 * (copies * params + (3 if training else 1) * acts)


def check_model_memory(cfg: ModelConfig, what: str, training: bool = False,
                       batch_size: int = 1) -> None:
    """ValueError naming `what` when `cfg` cannot fit in the available memory."""
    from memkit.validate import check_memory
    check_memory(f"{what} (model hidden={cfg.hidden}, blocks={cfg.blocks}, "
                 f"length={cfg.length}, K={cfg.vocab_size})",
                 estimate_bytes(cfg, training, batch_size))


def check_finite_weights(model: nn.Module, what: str) -> None:
    """ValueError when any weight of `model` is NaN or infinite (a diverged run)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not bool(torch.isfinite(p).all()):
                bad = p[~torch.isfinite(p)].flatten()[0].item()
                raise ValueError(f"{what} has non-finite weights ({name} holds {bad}): the "
                                 f"training diverged; retrain with a smaller learning rate")


def model_flops_per_token(cfg: ModelConfig, training: bool = True) -> float:
    """Matmul FLOPs per token: 2 x (non-embedding weights + output layer) + attention.

    Forward = 2 N + 4 L d per block (scores and weighted sum); training = 3 x forward.
    """
    d, L, K = cfg.hidden, cfg.length, cfg.vocab_size
    per_block = (3 + 1 + 2 * cfg.mlp_ratio) * d * d
    fwd = 2 * (cfg.blocks * per_block + d * K) + cfg.blocks * 4 * L * d
    return 3.0 * fwd if training else float(fwd)


def parameter_table(vocab_size: int = 30522, names=None) -> list[tuple[str, ModelConfig, int]]:
    """(name, config, parameter count at `vocab_size`) for each named configuration."""
    names = list(CONFIGS) if names is None else names
    return [(n, CONFIGS[n], count_parameters(CONFIGS[n], vocab_size)) for n in names]


# --------------------------------------------------------------------------- DUO interop
def load_duo_checkpoint(path, use_ema: bool = False, length: int | None = None,
                        dropout: float = 0.1, heads: int | None = None,
                        map_location="cpu") -> DiT:
    """Build a `DiT` from a checkpoint written by the DUO code base (a file).

    The reading is `uddm.checkpoints`': a restricted unpickler (no pickled code runs),
    weights under `state_dict` with prefix `backbone.` (the default: raw weights, as the
    paper's evaluation measured); with `use_ema` the EMA `shadow_params` (a list in
    `backbone.parameters()` order) replace them. A Lightning checkpoint states its
    shape (hidden, blocks, heads, cond_dim, length) in its pickled configuration; a bare
    {'state_dict', 'ema'} file does not, so its heads come from `heads` or the paper's
    configuration of the same hidden size and its length from `length` (default 128).
    Every tensor's shape is checked before copying.
    """
    from uddm.checkpoints import load_object, read_pickled_checkpoint
    from pathlib import Path
    if not Path(path).is_file():
        raise FileNotFoundError(f"DUO checkpoint {path} does not exist")
    try:
        obj, names = read_pickled_checkpoint(path, map_location="cpu")
    except ValueError as exc:
        raise ValueError(f"cannot read DUO checkpoint {path} safely: {exc}") from None
    if not isinstance(obj, dict) or "state_dict" not in obj:
        raise ValueError("not a DUO checkpoint: no 'state_dict' key")
    loaded = load_object(obj, path, names, use_ema=use_ema, heads=heads, length=length,
                         dropout=dropout)
    return loaded.model.to(map_location).eval()
