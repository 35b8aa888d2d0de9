"""The diffusion transformer: uniform output at init, attention and rotary, sizes, DUO loading."""
import math

import pytest
import torch
import torch.nn.functional as F

from tests.uddm.helpers import random_dit
from uddm.model import (CONFIGS, DiT, apply_rotary, count_parameters, get_config,
                        load_duo_checkpoint, parameter_table)


def test_output_uniform_at_init():
    torch.manual_seed(0)
    m = DiT(get_config("cpu-xs", vocab_size=37))
    x = torch.randint(37, (3, 32))
    logits = m(x, torch.tensor([0.0, 0.5, 7.0]))
    p = F.softmax(logits, -1)
    assert torch.equal(p, torch.full_like(p, p[0, 0, 0].item()))
    assert abs(p[0, 0, 0].item() - 1 / 37) < 1e-7
    # gradients reach the output layer at init (training can start)
    F.cross_entropy(logits.transpose(1, 2), x).backward()
    assert m.output_layer.linear.weight.grad.abs().sum() > 0


def test_paper_parameter_counts():
    """Table 1 of the science doc at K = 30522: 23.7 M, 139.3 M, 384.0 M."""
    counts = {n: p for n, _, p in parameter_table(30522, ["tiny", "small", "medium"])}
    assert round(counts["tiny"] / 1e6, 1) == 23.7
    assert round(counts["small"] / 1e6, 1) == 139.3
    assert round(counts["medium"] / 1e6, 1) == 384.0
    for n in ("tiny", "small", "medium"):
        c = CONFIGS[n]
        assert (c.length, c.cond_dim, c.dropout) == (128, 128, 0.1)


def test_count_parameters_meta_equals_real():
    m = DiT(get_config("cpu-xs", vocab_size=50))
    assert count_parameters(m) == count_parameters(get_config("cpu-xs"), 50)


def test_bad_configs():
    with pytest.raises(ValueError, match="unknown model configuration 'huge'"):
        get_config("huge")
    with pytest.raises(ValueError, match="not divisible"):
        get_config("cpu-xs", heads=3)
    m = DiT(get_config("cpu-xxs", vocab_size=5))
    with pytest.raises(ValueError, match="longer than the model's length 32"):
        m(torch.zeros(1, 33, dtype=torch.long), torch.zeros(1))


def test_rotary_scores_depend_on_relative_position_only():
    g = torch.Generator().manual_seed(0)
    D, L = 8, 12
    q0, k0 = torch.randn(D, generator=g), torch.randn(D, generator=g)
    inv = 1.0 / (10000 ** (torch.arange(0, D, 2).float() / D))
    f = torch.outer(torch.arange(L).float(), inv)
    emb = torch.cat([f, f], -1)
    q = q0.expand(1, 1, L, D)
    k = k0.expand(1, 1, L, D)
    qr, kr = apply_rotary(q, k, emb.cos(), emb.sin())
    s = qr[0, 0] @ kr[0, 0].T
    for off in range(-3, 4):
        d = torch.diagonal(s, off)
        assert torch.allclose(d, d[0].expand_as(d), atol=1e-5)


def _reference_forward(m, x, sigma):
    """The DiT written out by hand: explicit softmax attention, rotate-half rotary."""
    cfg = m.config
    d, H = cfg.hidden, cfg.heads
    hd = d // H
    h = m.vocab_embed.embedding[x]
    half = 128
    freqs = torch.exp(-math.log(10000) * torch.arange(half).float() / half)
    args = sigma[:, None] * freqs[None]
    emb = torch.cat([args.cos(), args.sin()], -1)
    c = F.silu(m.sigma_map.mlp[2](F.silu(m.sigma_map.mlp[0](emb))))
    L = x.shape[1]
    inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
    f = torch.outer(torch.arange(L).float(), inv)
    cos, sin = torch.cat([f, f], -1).cos(), torch.cat([f, f], -1).sin()

    def rot(t):
        return t * cos + torch.cat([-t[..., hd // 2:], t[..., :hd // 2]], -1) * sin

    def ln(t, w):
        return F.layer_norm(t, [d]) * w

    for b in m.blocks:
        sh1, sc1, g1, sh2, sc2, g2 = b.adaLN_modulation(c)[:, None].chunk(6, 2)
        u = ln(h, b.norm1.weight) * (1 + sc1) + sh1
        qkv = (u @ b.attn_qkv.weight.T).view(x.shape[0], L, 3, H, hd)
        q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))
        q, k = rot(q), rot(k)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), -1) @ v
        h = h + g1 * (att.transpose(1, 2).reshape(x.shape[0], L, d) @ b.attn_out.weight.T)
        u = ln(h, b.norm2.weight) * (1 + sc2) + sh2
        h = h + g2 * b.mlp[2](F.gelu(b.mlp[0](u), approximate="tanh"))
    o = m.output_layer
    sh, sc = o.adaLN_modulation(c)[:, None].chunk(2, 2)
    return o.linear(ln(h, o.norm_final.weight) * (1 + sc) + sh)


def test_forward_equals_hand_written_reference():
    m = random_dit("cpu-xs", vocab_size=19)
    x = torch.randint(19, (2, 20), generator=torch.Generator().manual_seed(1))
    sigma = torch.tensor([0.1, 2.0])
    with torch.no_grad():
        out = m(x, sigma)
        ref = _reference_forward(m, x, sigma)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)


def test_soft_input_equals_ids_for_one_hot():
    m = random_dit("cpu-xxs", vocab_size=9)
    x = torch.randint(9, (2, 10), generator=torch.Generator().manual_seed(2))
    s = torch.tensor([0.3, 0.3])
    with torch.no_grad():
        torch.testing.assert_close(m(x, s), m(F.one_hot(x, 9).float(), s))


def _write_duo(path, m, ema_model, extra=True):
    sd = {"backbone." + k: v.clone() for k, v in m.state_dict().items()}
    if extra:
        sd["backbone.rotary_emb.inv_freq"] = m.rotary_emb.inv_freq.clone()
        sd["noise.sigma_max"] = torch.tensor(1.0)
    torch.save({"state_dict": sd, "epoch": 3, "global_step": 1000,
                "ema": {"decay": 0.9999, "num_updates": 1000,
                        "shadow_params": [p.detach().clone() for p in ema_model.parameters()]}},
               path)


def test_load_duo_checkpoint(tmp_path):
    raw = random_dit("tiny", vocab_size=23, seed=0)
    ema = random_dit("tiny", vocab_size=23, seed=5)
    p = tmp_path / "duo.ckpt"
    _write_duo(p, raw, ema)
    x = torch.randint(23, (2, 16), generator=torch.Generator().manual_seed(0))
    s = torch.tensor([0.2, 1.5])
    for use_ema, want in ((False, raw), (True, ema)):
        got = load_duo_checkpoint(p, use_ema=use_ema)
        assert got.config.name == "tiny" and got.config.vocab_size == 23
        assert (got.config.hidden, got.config.blocks, got.config.heads) == (256, 8, 8)
        with torch.no_grad():
            torch.testing.assert_close(got(x, s), want(x, s))


def test_load_duo_checkpoint_errors(tmp_path):
    m = random_dit("cpu-xxs", vocab_size=7)
    p = tmp_path / "bad.ckpt"
    sd = {"backbone." + k: v for k, v in m.state_dict().items()}
    sd["backbone.blocks.0.attn_out.weight"] = torch.zeros(5, 5)
    torch.save({"state_dict": sd}, p)
    with pytest.raises(ValueError, match="attn_out.weight has shape"):
        load_duo_checkpoint(p, use_ema=False, heads=2)
    with pytest.raises(ValueError, match="no EMA"):
        load_duo_checkpoint(p, use_ema=True, heads=2)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_duo_checkpoint(tmp_path / "missing.ckpt")
    (tmp_path / "trunc.ckpt").write_bytes(p.read_bytes()[:100])
    with pytest.raises(ValueError, match="cannot read DUO checkpoint"):
        load_duo_checkpoint(tmp_path / "trunc.ckpt")


def test_attention_is_softmax_attention_on_strided_inputs():
    """`attention` on q, k, v cut from one fused qkv projection (strided views, as the
    block feeds it) equals softmax(q k^T / sqrt(hd)) v computed in float64, values and
    gradients (float32 round-off: relative 1e-5)."""
    from uddm.model import attention
    g = torch.Generator().manual_seed(0)
    qkv = torch.randn(3, 5, 32, 3, 4, 16, generator=g)[1].requires_grad_(True)  # (B, L, 3, H, hd)
    w = torch.randn(5, 4, 32, 16, generator=g, dtype=torch.float64)

    def run(fn, dtype):
        x = qkv.to(dtype).permute(2, 0, 3, 1, 4)                       # (3, B, H, L, hd)
        out = fn(x[0], x[1], x[2])
        grad, = torch.autograd.grad((out.double() * w).sum(), qkv)
        return out.double(), grad

    def exact(q, k, v):
        s = torch.einsum("bhld,bhmd->bhlm", q, k) / math.sqrt(q.shape[-1])
        return torch.einsum("bhlm,bhmd->bhld", torch.softmax(s, dim=-1), v)

    o32, g32 = run(attention, torch.float32)
    o64, g64 = run(exact, torch.float64)
    assert torch.allclose(o32, o64, rtol=1e-5, atol=1e-5 * o64.abs().max().item())
    assert torch.allclose(g32, g64, rtol=1e-5, atol=1e-5 * g64.abs().max().item())


def test_gelu_tanh_is_torchs_tanh_gelu_to_round_off_at_every_scale():
    """The sigmoid form (what compiled steps run) against the float64 tanh formula.

    Tolerance: a handful of float32 operations, each within half an ulp (6e-8 relative),
    on values up to |x| = 60: 1e-6 (|x| + 1) in value, 1e-5 (x^2 + 1) in the derivative
    (3 x^2 enters it). Torch's own float32 kernel is held to the same bound, and the
    module runs torch's kernel, bit for bit, outside torch.compile.
    """
    from uddm.model import GELUTanh, gelu_tanh
    x64 = torch.cat([torch.linspace(-60, 60, 4001, dtype=torch.float64),
                     torch.randn(4000, dtype=torch.float64, generator=torch.Generator().manual_seed(0))])
    ref = F.gelu(x64, approximate="tanh")
    x64r = x64.clone().requires_grad_()
    F.gelu(x64r, approximate="tanh").sum().backward()
    x = x64.float().requires_grad_()
    out = gelu_tanh(x)
    out.sum().backward()
    bound = 1e-6 * (x64.abs() + 1)
    assert ((out.double() - ref).abs() <= bound).all()
    assert ((F.gelu(x.detach(), approximate="tanh").double() - ref).abs() <= bound).all()
    assert ((x.grad.double() - x64r.grad).abs() <= 1e-5 * (x64 ** 2 + 1)).all()
    assert torch.equal(GELUTanh()(x.detach()), F.gelu(x.detach(), approximate="tanh"))
