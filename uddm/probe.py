"""A memorisation probe for any trained diffusion model (`uddm probe`).

Given a model (a uddm checkpoint or a DUO checkpoint) and reference sequences (e.g.
suspected training data), report

- recovery (eq. 12) of the references under stochastic retrieval (Experiment 2) at
  several t, through the shared protocol (`memkit.protocol.run_retrieval`);
- the conditional entropy (eq. 13 at t0) of the references and of the model's own
  samples, per token, and the entropy gap (generated minus references);
- the fraction of generated samples that reproduce a reference exactly;
- optionally, the same recovery and entropy on unseen sequences of the same source
  (the paper's train-versus-test comparison; reported, not part of the rule);
- a verdict, by the rule below.

The rule (`verdict`). Let h_ref and h_gen be the mean per-token conditional entropies
(nats) of the references and of the generated samples, and tau(K) the entropy of a
prediction that puts 99% of its mass on one token and spreads the rest evenly over
the other K - 1 (0.09 nats for K = 32, 0.10 for K = 128, 0.15 for K = 30522):

- memorising: h_ref < tau(K), and either h_gen < tau(K) (the samples are as sharp:
  the model regenerates stored sequences, the paper's Fig. 4 at small sizes) or
  h_ref < h_gen / 2 (the references are much sharper than what the model generates:
  they are stored, the model is not merely confident everywhere);
- in transition: otherwise, if h_ref < h_gen / 2 -- the references sit in much
  sharper basins than the model's samples but are no longer stored exactly (the
  entropy gap of the paper's Fig. 5 is open);
- generalising: otherwise -- the references are about as uncertain as new samples.

Why these thresholds: tau(K) is the entropy of a "99%-confident" prediction at every
position, so it scales with the vocabulary rather than being tuned to one model; the
factor 2 asks for a gap at least as large as the references' own entropy. Small models
without absolute positions memorise their training sequences long before they can
regenerate them from noise (h_gen ~ 0.2-0.8 at 4 sequences), hence the second clause.
A NELBO model's x_theta at t0 predicts each token from the others and sharpens slowly
(course sheet 7: h_ref 0.09-0.25 after 400 steps on 4 Markov sequences, "in
transition" although training recovery is far above unseen; ~0.06-0.08 after 800).
The entropy rule is meant for NELBO (paper, DUO) models: a model trained with the x0
cross-entropy predicts p(x | z_t), which at t0 is confident on ANY clean input, so
its verdict is reported with a warning (`ProbeReport.prediction`). Limits: on a nearly
deterministic source a generalising model is
also confident on every sequence (h_ref and h_gen both below tau) and entropies cannot
tell it from memorisation; the fraction of samples that copy a reference is reported
for that case, and the numbers are always printed with the verdict.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from memkit.protocol import mean_and_sem, run_retrieval

__all__ = ["confident_entropy", "verdict", "load_model", "read_references", "probe",
           "ProbeReport", "GAP_FACTOR", "CONFIDENCE"]

CONFIDENCE = 0.99      # tau(K): entropy of a prediction with this mass on one token
GAP_FACTOR = 2.0       # "in transition" when h_gen > GAP_FACTOR * h_ref


def confident_entropy(K: int, p: float = CONFIDENCE) -> float:
    """Entropy (nats) of p on one token and (1 - p) spread evenly over the other K - 1."""
    if K < 2:
        return 0.0
    q = 1.0 - p
    return float(-p * math.log(p) - q * math.log(q / (K - 1)))


def verdict(h_ref: float, h_gen: float, K: int) -> tuple[str, str]:
    """(verdict, reason) from per-token entropies of references and samples (see module doc)."""
    tau = confident_entropy(K)
    if h_ref < tau and h_gen < tau:
        return "memorising", (f"references' {h_ref:.4f} and generated {h_gen:.4f} nats/token both "
                              f"< tau(K={K}) = {tau:.4f} (99%-confident predictions)")
    if h_ref < tau and h_ref * GAP_FACTOR < h_gen:
        return "memorising", (f"references' {h_ref:.4f} < tau(K={K}) = {tau:.4f} nats/token and "
                              f"< generated {h_gen:.4f} / {GAP_FACTOR:g}: the references are stored")
    if h_ref * GAP_FACTOR < h_gen:
        return "in transition", (f"references' entropy {h_ref:.4f} < generated {h_gen:.4f} / "
                                 f"{GAP_FACTOR:g}: the references sit in sharper basins than samples")
    return "generalising", (f"references' {h_ref:.4f} >= generated {h_gen:.4f} / {GAP_FACTOR:g} "
                            f"nats/token: as uncertain as new samples")


def load_model(path, device: str = "cpu", heads: int | None = None, use_ema: bool = False):
    """(model, tokenizer or None, description) from a uddm .pt, a Lightning .ckpt (DUO, the
    paper) or a Hugging Face export folder (`uddm.checkpoints.load_any`).

    Raw weights by default, as the paper's evaluation measured; `use_ema=True` for the EMA.
    """
    from uddm.checkpoints import load_any
    loaded = load_any(path, use_ema=use_ema, device=device, heads=heads)
    return loaded.model, loaded.tokenizer, loaded.description


def read_references(path, model, tokenizer=None, ids: bool = False, limit: int | None = None):
    """(R, L') token ids of the lines of `path` (text through `tokenizer`, or integer ids).

    Lines are cut to the shortest line's length (at most the model's length: the model
    has no absolute positions, so it runs at any shorter length); every id must lie in
    the model's vocabulary.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"reference file {path} does not exist")
    try:
        lines = [l for l in p.read_text(encoding="utf-8").splitlines() if l.strip()]
    except UnicodeDecodeError:
        raise ValueError(f"reference file {path} is not UTF-8 text") from None
    if not lines:
        raise ValueError(f"reference file {path} holds no sequences")
    K, L = model.config.vocab_size, model.config.length
    if not ids and tokenizer is None:
        raise ValueError("this checkpoint carries no tokenizer: give the references as token ids (--ids)")
    if tokenizer is not None and not ids and tokenizer.vocab_size != K:
        raise ValueError(f"the tokenizer has {tokenizer.vocab_size} tokens but the model's vocabulary "
                         f"is {K} (a vocabulary mismatch)")
    rows = []
    for i, line in enumerate(lines[:limit] if limit else lines):
        if ids:
            try:
                row = [int(w) for w in line.split()]
            except ValueError:
                raise ValueError(f"line {i + 1} of {path} is not a list of integer token ids") from None
        else:
            row = tokenizer.encode(line)
        bad = [t for t in row if not 0 <= t < K]
        if bad:
            raise ValueError(f"token id {bad[0]} on line {i + 1} of {path} is outside the model's "
                             f"vocabulary of {K} (a vocabulary mismatch)")
        if len(row) < 2:
            raise ValueError(f"line {i + 1} of {path} has fewer than 2 tokens")
        rows.append(row)
    n = min(min(len(r) for r in rows), L)
    return np.array([r[:n] for r in rows], dtype=np.int64)


@dataclass
class ProbeReport:
    n_references: int
    length: int
    vocab_size: int
    times: list
    recovery: list           # mean per t
    recovery_sem: list
    h_ref: float             # mean per-token entropy of the references (nats)
    h_ref_sem: float
    h_gen: float
    h_gen_sem: float
    gap: float               # h_gen - h_ref, per token
    copies: float            # fraction of samples equal to a reference
    tau: float
    verdict: str
    reason: str
    extra: dict = field(default_factory=dict)
    prediction: str = "nelbo"     # the model's training target (ModelConfig.prediction)

    def to_dict(self) -> dict:
        from dataclasses import asdict
        return asdict(self)


def probe(model, references: np.ndarray, times=(0.05, 0.1, 0.25, 0.5), n_generated: int = 64,
          steps: int = 64, generation_steps: int = 128, trials: int | None = None, seed: int = 0,
          batch_size: int = 64, unseen: np.ndarray | None = None) -> ProbeReport:
    """Run the memorisation probe of `model` on (R, L') `references` (see module doc).

    `unseen`: optional (U, L') sequences from the same source that the model never saw;
    their recovery and entropy are reported beside the references' (the paper's
    train-vs-test comparison) in `extra`, without changing the verdict rule.
    """
    from uddm.diffusion import make_schedule
    from uddm.retrieval import DiffusionRetriever
    from uddm.sample import generate, token_entropy
    refs = np.asarray(references, dtype=np.int64)
    if refs.ndim != 2 or refs.shape[0] == 0:
        raise ValueError("references must be a non-empty (R, L) array")
    K = model.config.vocab_size
    if refs.max() >= K or refs.min() < 0:
        raise ValueError(f"reference token id {int(refs.max())} is outside the model's vocabulary of {K}")
    device = next(model.parameters()).device
    schedule = make_schedule()
    rng = np.random.default_rng(seed)
    adapter = DiffusionRetriever(model, schedule, steps=steps, batch_size=batch_size)
    if trials is None:      # enough corrupted copies that small t corrupts something
        trials = max(1, math.ceil(64 / refs.shape[0]))
    rec = run_retrieval(adapter, refs, list(times), trials, "stochastic", rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # a level that corrupted nothing
        rm, rs = mean_and_sem(rec.recovery())
    L = refs.shape[1]
    h_ref_tok = token_entropy(model, torch.as_tensor(refs, device=device), schedule).cpu().numpy()
    g = torch.Generator(device=device).manual_seed(int(rng.integers(2**62)))
    gen = generate(model, schedule, n_generated, steps=generation_steps, length=L,
                   batch_size=batch_size, generator=g, device=device)
    h_gen_tok = gen.entropy.cpu().numpy()
    per_ref = h_ref_tok.mean(-1)
    per_gen = h_gen_tok.mean(-1)

    def ms(v):
        return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0

    h_ref, h_ref_se = ms(per_ref)
    h_gen, h_gen_se = ms(per_gen)
    ref_set = {r.tobytes() for r in refs}
    copies = float(np.mean([r.tobytes() in ref_set for r in gen.tokens.cpu().numpy()]))
    v, reason = verdict(h_ref, h_gen, K)
    prediction = getattr(model.config, "prediction", "nelbo")
    if prediction == "x0_ce":
        reason += ("; WARNING: the model was trained with the x0 cross-entropy, whose predictions"
                   " at t0 are confident on any clean input: the entropy rule assumes a NELBO model")
    extra = {}
    if unseen is not None:
        un = np.asarray(unseen, dtype=np.int64)
        if un.ndim != 2 or un.shape[0] == 0:
            raise ValueError("unseen sequences must be a non-empty (U, L) array")
        if un.max() >= K or un.min() < 0:
            raise ValueError(f"unseen token id {int(un.max())} is outside the model's vocabulary of {K}")
        un = un[:, :L] if un.shape[1] >= L else un
        refs_cut = refs[:, :un.shape[1]]
        if refs_cut.shape[1] != refs.shape[1]:
            raise ValueError(f"unseen sequences ({un.shape[1]} tokens) are shorter than the references ({L})")
        rec_u = run_retrieval(adapter, un, list(times), max(1, math.ceil(64 / un.shape[0])),
                              "stochastic", rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            um, us = mean_and_sem(rec_u.recovery())
        h_un = token_entropy(model, torch.as_tensor(un, device=device), schedule).cpu().numpy().mean(-1)
        hu, hus = ms(h_un)
        extra = {"unseen": {"n": int(un.shape[0]), "recovery": um.tolist(), "recovery_sem": us.tolist(),
                            "recovery_gap": (rm - um).tolist(),
                            "recovery_gap_sem": np.hypot(rs, us).tolist(),
                            "h": hu, "h_sem": hus}}
    return ProbeReport(n_references=int(refs.shape[0]), length=int(L), vocab_size=int(K),
                       times=[float(t) for t in times], recovery=rm.tolist(), recovery_sem=rs.tolist(),
                       h_ref=h_ref, h_ref_sem=h_ref_se, h_gen=h_gen, h_gen_sem=h_gen_se,
                       gap=h_gen - h_ref, copies=copies, tau=confident_entropy(K), verdict=v,
                       reason=reason, extra=extra, prediction=prediction)
