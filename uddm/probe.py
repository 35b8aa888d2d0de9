"""A memorisation probe for any trained diffusion model (`uddm probe`).

Given a model (a uddm checkpoint or a DUO checkpoint) and reference sequences (e.g.
suspected training data), report

- recovery (eq. 12) of the references under stochastic retrieval (Experiment 2) at
  several t, through the shared protocol (`memkit.protocol.run_retrieval`), with the
  paper's procedure (global time grid, ancestral noise removal, raw weights by default);
- the sequence conditional entropy (eq. 13 at t0, summed over positions) of the
  references, of the model's own samples and, when given, of held-out sequences of the
  same source; the per-token means and the entropy gap (generated minus references);
- the fraction of generated samples that reproduce a reference exactly;
- a verdict that rests only on comparisons the model itself provides.

The rule (`verdict`), calibrated rather than an absolute entropy threshold:

1. **memorising** if at least half the samples copy a reference (COPY_FRACTION = 0.5):
   the model regenerates stored sequences (the paper's Fig. 4 at small sizes);
2. otherwise **in transition** if the references' sequence entropies lie significantly
   below those of the comparison set -- held-out sequences when given (the paper's
   train-versus-test comparison), else the model's own samples. The statistic is the
   Mann-Whitney A = P(H_ref < H_cmp) (`memkit.measures.two_sample_auc`); "significantly"
   means z = (A - 1/2) / se0 > Z_THRESHOLD = 3, with se0 its standard error under the
   hypothesis that references and comparison come from one distribution (a false
   "in transition" call for a model whose references are exchangeable with the
   comparison set has probability 0.13%). The references sit in sharper basins than
   sequences the model was not trained on: stored, but not as fixed copies;
3. otherwise **generalising**: the references are as uncertain as new sequences.

Why no absolute threshold: the old rule (`threshold_verdict`, kept for reference) called
a model memorising when its references' entropy fell below tau(K), the entropy of a 99%
confident prediction (0.10 nats/token at K = 128). That lies just below the Markov
source's own Bayes entropy (0.134 nats/token), so on any source of lower entropy a
perfect generaliser (the exact model, `uddm.references.ExactModel`) would have been
called memorising. The comparisons above are invariant to the source's entropy.

Limits, said with every verdict: without held-out sequences the comparison set is the
model's samples, so a model whose samples are worse than the data (an undertrained
generator: high-entropy, partly invalid samples) shows references "sharper than its
samples" and is called in transition although it may treat training and test alike;
give held-out sequences (`--unseen`) whenever they exist. The thresholds were fixed
before the rule was run on the sweep; the sweep's confusion table against each point's
ground truth is in docs/results-uddm.md (written by `uddm.sweep.write_summary`).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import torch

from memkit.protocol import mean_and_sem, run_retrieval

__all__ = ["confident_entropy", "verdict", "threshold_verdict", "load_model", "read_references",
           "probe", "ProbeReport", "GAP_FACTOR", "CONFIDENCE", "COPY_FRACTION", "Z_THRESHOLD",
           "VERDICTS"]

COPY_FRACTION = 0.5    # memorising when at least this fraction of samples copies a reference
Z_THRESHOLD = 3.0      # in transition when (A - 1/2) / se0 exceeds this (one-sided, p = 0.13%)
VERDICTS = ("memorising", "in transition", "generalising")
CONFIDENCE = 0.99      # the old rule's tau(K): entropy of a prediction with this mass on one token
GAP_FACTOR = 2.0       # the old rule: "in transition" when h_gen > GAP_FACTOR * h_ref


def confident_entropy(K: int, p: float = CONFIDENCE) -> float:
    """Entropy (nats) of p on one token and (1 - p) spread evenly over the other K - 1."""
    if K < 2:
        return 0.0
    q = 1.0 - p
    return float(-p * math.log(p) - q * math.log(q / (K - 1)))


def verdict(copies: float, statistic: dict, comparison: str = "generated samples") -> tuple[str, str]:
    """(verdict, reason) by the calibrated rule of the module doc.

    copies : fraction of generated samples equal to a reference; statistic : the
    `memkit.measures.two_sample_auc` of the references' sequence entropies (x) against
    the comparison set's (y); comparison : what the comparison set is, for the reason.
    (The old call `verdict(h_ref, h_gen, K)` still works, with a DeprecationWarning: it
    is `threshold_verdict`.)
    """
    if isinstance(statistic, (int, float)):
        warnings.warn("verdict(h_ref, h_gen, K) is the old absolute-threshold rule: call "
                      "threshold_verdict, or verdict(copies, two_sample_auc(...))",
                      DeprecationWarning, stacklevel=2)
        return threshold_verdict(copies, float(statistic), int(comparison))
    if not 0.0 <= copies <= 1.0:
        raise ValueError(f"copies must be a fraction in [0, 1], got {copies!r}")
    a, z = statistic["auc"], statistic["z"]
    if copies >= COPY_FRACTION:
        return "memorising", (f"{copies:.2f} of the samples copy a reference "
                              f"(>= {COPY_FRACTION:g}): the model regenerates stored sequences")
    if z > Z_THRESHOLD:
        return "in transition", (f"references' sequence entropies lie below the {comparison}' "
                                 f"(A = P(H_ref < H_cmp) = {a:.3f} ± {statistic['se']:.3f}, "
                                 f"z = {z:.1f} > {Z_THRESHOLD:g}); {copies:.2f} of samples copy")
    return "generalising", (f"references' sequence entropies are not below the {comparison}' "
                            f"(A = {a:.3f} ± {statistic['se']:.3f}, z = {z:.1f} <= {Z_THRESHOLD:g}); "
                            f"{copies:.2f} of samples copy")


def threshold_verdict(h_ref: float, h_gen: float, K: int) -> tuple[str, str]:
    """The old absolute-threshold rule (deprecated; see the module doc for why it fails).

    (verdict, reason) from per-token entropies of references and samples: memorising when
    h_ref < tau(K) and (h_gen < tau(K) or h_ref < h_gen / 2); in transition when
    h_ref < h_gen / 2; generalising otherwise.
    """
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
    statistic: dict = field(default_factory=dict)   # two_sample_auc behind the verdict
    comparison: str = "generated samples"           # what the references were compared with

    def to_dict(self) -> dict:
        from dataclasses import asdict
        return asdict(self)


def probe(model, references: np.ndarray, times=(0.05, 0.1, 0.25, 0.5, 1.0), n_generated: int = 64,
          steps: int = 128, generation_steps: int = 128, trials: int | None = None, seed: int = 0,
          batch_size: int = 64, unseen: np.ndarray | None = None) -> ProbeReport:
    """Run the memorisation probe of `model` on (R, L') `references` (see module doc).

    `steps` is the size of the global time grid of the retrieval (the paper's grid,
    entered at each t); `unseen`: optional (U, L') sequences from the same source that
    the model never saw; their recovery and entropy are reported beside the
    references' in `extra`, and the verdict compares the references with them (else
    with the model's samples).
    """
    from memkit.measures import mean_sem, two_sample_auc
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
        return mean_sem(v)

    h_ref, h_ref_se = ms(per_ref)
    h_gen, h_gen_se = ms(per_gen)
    ref_set = {r.tobytes() for r in refs}
    copies = float(np.mean([r.tobytes() in ref_set for r in gen.tokens.cpu().numpy()]))
    seq_ref, seq_gen = h_ref_tok.sum(-1), h_gen_tok.sum(-1)
    stat_gen = two_sample_auc(seq_ref, seq_gen)
    prediction = getattr(model.config, "prediction", "nelbo")
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
        h_un_tok = token_entropy(model, torch.as_tensor(un, device=device), schedule).cpu().numpy()
        hu, hus = ms(h_un_tok.mean(-1))
        h_un_seq = h_un_tok.sum(-1)
        extra = {"unseen": {"n": int(un.shape[0]), "recovery": um.tolist(), "recovery_sem": us.tolist(),
                            "recovery_gap": (rm - um).tolist(),
                            "recovery_gap_sem": np.hypot(rs, us).tolist(),
                            "h": hu, "h_sem": hus, "statistic": two_sample_auc(seq_ref, h_un_seq)}}
    extra["generated_statistic"] = stat_gen
    if unseen is not None:
        stat, comparison = extra["unseen"]["statistic"], "held-out sequences"
    else:
        stat, comparison = stat_gen, "generated samples"
    v, reason = verdict(copies, stat, comparison)
    if prediction == "x0_ce":
        reason += ("; WARNING: the model was trained with the x0 cross-entropy, whose predictions"
                   " at t0 are confident on any clean input: the entropy rule assumes a NELBO model")
    return ProbeReport(n_references=int(refs.shape[0]), length=int(L), vocab_size=int(K),
                       times=[float(t) for t in times], recovery=rm.tolist(), recovery_sem=rs.tolist(),
                       h_ref=h_ref, h_ref_sem=h_ref_se, h_gen=h_gen, h_gen_sem=h_gen_se,
                       gap=h_gen - h_ref, copies=copies, tau=confident_entropy(K), verdict=v,
                       reason=reason, extra=extra, prediction=prediction, statistic=stat,
                       comparison=comparison)
