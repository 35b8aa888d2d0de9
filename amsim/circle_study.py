"""The circle toy of Pham et al. 2025 (arXiv 2505.21777): memorised, spurious and
generalised stable points of a denoiser trained on n points of the unit circle.

docs/science-am.md, "Dense associative memory" (eqs. D1-D6 and "The circle census").
What experiments/dense_circle.py computes, one function per step:

    circle_data            n training points on the unit circle (seeded angles, nested in n)
    ScoreNet, train_score_network
                           a small MLP trained by denoising score matching at one noise
                           level sigma (it predicts the noise; s(x) = -eps_hat(x) / sigma)
    network_denoiser, exact_denoiser
                           D(x) = x + sigma^2 s(x) and its Jacobian, for the network and for
                           the exact empirical score (the DAM update D3 at beta = 1/sigma^2)
    find_stable_points     iterate x <- D(x) from a grid of starts, keep the converged ends
                           whose Jacobian has spectral radius < 1, deduplicate
    classify_stable_points memorised / spurious / generalised (thresholds below)
    measure_model          one (n, seed): train, census of the network and of the exact DAM
    summarise, spurious_peak, figure_data
                           counts per n (mean +- s.e. over seeds) and the peak test

Classification of a stable point x (R_MEM_SIGMA, R_OFF_SIGMA below):
    memorised   within r_mem = sigma / 4 of a training point that also carries more than
                half of the exact posterior weight (eq. D2 at beta = 1 / sigma^2) at x: x is a
                copy of that one point. The weight condition keeps a state that merely sits
                near some point of a dense training set (spacing < 2 r_mem) from counting.
    spurious    not memorised and off the circle: | |x| - 1 | > r_off = sigma / 4.
    generalised not memorised and on the circle (| |x| - 1 | <= r_off).
r_off = sigma / 4 exceeds the inward shift sigma^2 / 2 of the stable ring of the
infinite-data denoiser (r = I1(r / sigma^2) / I0(r / sigma^2) ~ 1 - sigma^2 / 2 for the
sigma used here), so a perfectly generalising denoiser's ring counts as on the circle, and
is a quarter of the noise scale, the resolution of a denoiser at noise sigma.
"""
from __future__ import annotations

import math

import numpy as np

from amsim.dense import dam_jacobian, dam_weights, empirical_denoiser
from memkit.measures import mean_sem

VERSION = 1
R_MEM_SIGMA = 0.25        # r_mem = R_MEM_SIGMA * sigma
R_OFF_SIGMA = 0.25        # r_off = R_OFF_SIGMA * sigma
DEDUP_SIGMA = 0.05        # stable points closer than DEDUP_SIGMA * sigma are one point
CLASSES = ("memorised", "spurious", "generalised")
_DATA, _NET = 7, 11       # random streams of the study


# ----------------------------------------------------------------------------- data
def circle_data(n: int, seed: int) -> np.ndarray:
    """n points on the unit circle, (n, 2) float64; angles uniform on [0, 2 pi) from
    numpy's Generator seeded [seed, 7]. The sets are nested: the first n points of a
    seed do not depend on how many are drawn."""
    from amsim._validate import check_positive_int
    check_positive_int("n", n)
    check_positive_int("seed", seed, minimum=0)
    theta = np.random.default_rng([seed, _DATA]).uniform(0.0, 2 * np.pi, size=n)
    return np.stack([np.cos(theta), np.sin(theta)], axis=1)


# ----------------------------------------------------------------------------- network
def _torch():
    import torch
    return torch


def make_score_net(hidden: int, seed: int):
    """An MLP 2 -> hidden -> hidden -> 2 (SiLU), float64, its weights drawn from a torch
    Generator seeded `seed` (PyTorch's default uniform(+-1/sqrt(fan_in)) scheme), so the
    global torch RNG is never used."""
    torch = _torch()
    g = torch.Generator().manual_seed(int(seed))
    net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.SiLU(),
                              torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
                              torch.nn.Linear(hidden, 2)).double()
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, torch.nn.Linear):
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.copy_((torch.rand(layer.weight.shape, generator=g, dtype=torch.float64) * 2 - 1) * bound)
                layer.bias.copy_((torch.rand(layer.bias.shape, generator=g, dtype=torch.float64) * 2 - 1) * bound)
    return net


def train_score_network(data, sigma: float, hidden: int = 64, steps: int = 3000, batch: int = 256,
                        lr: float = 2e-3, seed: int = 0):
    """Denoising score matching at one noise level sigma.

    Each step draws `batch` training points x0 (with replacement) and noises
    eps ~ N(0, I), and takes an Adam step on mean ||eps_hat(x0 + sigma eps) - eps||^2, whose
    minimiser is eps_hat(x) = -sigma grad log p_sigma(x): s(x) = -eps_hat(x) / sigma is the
    score and D(x) = x - sigma eps_hat(x) the denoiser (eq. D6 at the optimum). All
    randomness comes from a torch Generator seeded `seed`.

    Returns (net, losses): the trained torch module and the loss of every step (float).
    """
    torch = _torch()
    X = torch.as_tensor(np.asarray(data, dtype=np.float64))
    g = torch.Generator().manual_seed(int(seed) + 1)
    net = make_score_net(hidden, seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    losses = np.empty(steps)
    for t in range(steps):
        i = torch.randint(0, len(X), (batch,), generator=g)
        eps = torch.randn(batch, 2, generator=g, dtype=torch.float64)
        loss = ((net(X[i] + sigma * eps) - eps) ** 2).sum(dim=1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[t] = loss.item()
    return net, losses


def network_denoiser(net, sigma: float):
    """(denoise, jacobian) of a trained network: numpy (T, 2) -> (T, 2) for
    D(x) = x - sigma eps_hat(x), and (2,) -> (2, 2) for its Jacobian (autograd)."""
    torch = _torch()

    def denoise(x):
        with torch.no_grad():
            t = torch.as_tensor(np.asarray(x, dtype=np.float64))
            return (t - sigma * net(t)).numpy()

    def jacobian(x):
        f = lambda z: z - sigma * net(z)  # noqa: E731
        return torch.autograd.functional.jacobian(f, torch.as_tensor(np.asarray(x, dtype=np.float64))).numpy()

    return denoise, jacobian


def exact_denoiser(data, sigma: float):
    """(denoise, jacobian) of the exact empirical score: the DAM update D3 at
    beta = 1 / sigma^2 (eq. D6) and its Jacobian beta Cov_p(xi)."""
    return (lambda x: empirical_denoiser(x, data, sigma),
            lambda x: dam_jacobian(x, data, 1.0 / sigma ** 2))


# ----------------------------------------------------------------------------- stable points
def grid_starts(n_side: int, half_width: float = 1.5) -> np.ndarray:
    """An n_side x n_side grid of starts on [-half_width, half_width]^2, (n_side^2, 2)."""
    g = np.linspace(-half_width, half_width, n_side)
    xx, yy = np.meshgrid(g, g)
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def find_stable_points(denoise, jacobian, starts, max_iter: int = 5000, tol: float = 1e-10,
                       dedup: float = 0.01) -> dict:
    """The stable points of x <- D(x) reached from `starts`.

    Each start is iterated until its step |D(x) - x| (largest component) is at most `tol`
    or `max_iter` steps. The converged ends are merged greedily (an end within `dedup`
    of a kept point joins it; the kept point is the first end that reached it); a point
    is stable when the spectral radius of the Jacobian of D there is below 1.

    Returns {"points": (K, 2) stable points, "rho": (K,) spectral radii, "basin": (K,)
    number of starts ending there, "unstable": number of converged ends at fixed points
    with rho >= 1 (saddles, maxima), "not_converged": starts that never settled}.
    """
    x = np.array(starts, dtype=np.float64)
    active = np.ones(len(x), dtype=bool)
    for _ in range(max_iter):
        if not active.any():
            break
        new = denoise(x[active])
        step = np.abs(new - x[active]).max(axis=1)
        idx = np.flatnonzero(active)
        x[idx] = new
        active[idx[step <= tol]] = False
    ends = x[~active]
    kept, counts = [], []
    for e in ends:
        for k, p in enumerate(kept):
            if np.hypot(*(e - p)) < dedup:
                counts[k] += 1
                break
        else:
            kept.append(e)
            counts.append(1)
    rho = np.array([np.abs(np.linalg.eigvals(jacobian(p))).max() for p in kept])
    stable = rho < 1.0
    pts = np.array(kept, dtype=np.float64).reshape(-1, 2)
    return {"points": pts[stable], "rho": rho[stable], "basin": np.asarray(counts, dtype=int)[stable],
            "unstable": int(np.sum(np.asarray(counts)[~stable])), "not_converged": int(active.sum())}


def classify_stable_points(points, data, sigma: float, r_mem: float | None = None,
                           r_off: float | None = None) -> list[str]:
    """The class of each stable point (module docstring): "memorised", "spurious" or
    "generalised".

    points : (K, 2); data : (n, 2) training points on the unit circle; sigma > 0 the
    noise level; r_mem, r_off default to sigma / 4 each.
    """
    from amsim._validate import check_positive_float
    sigma = check_positive_float("sigma", sigma)
    r_mem = R_MEM_SIGMA * sigma if r_mem is None else check_positive_float("r_mem", r_mem)
    r_off = R_OFF_SIGMA * sigma if r_off is None else check_positive_float("r_off", r_off)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return []
    xi = np.asarray(data, dtype=np.float64)
    dist = np.sqrt(((pts[:, None, :] - xi[None]) ** 2).sum(-1))
    nearest = dist.argmin(axis=1)
    w = dam_weights(pts, xi, 1.0 / sigma ** 2)
    w_near = w[np.arange(len(pts)), nearest]
    memorised = (dist[np.arange(len(pts)), nearest] <= r_mem) & (w_near > 0.5)
    off = np.abs(np.hypot(pts[:, 0], pts[:, 1]) - 1.0) > r_off
    return ["memorised" if m else "spurious" if o else "generalised" for m, o in zip(memorised, off)]


def describe_points(found: dict, data, sigma: float) -> dict:
    """JSON-able census of one model: the points with their class, radius |x|, distance to
    the nearest training point, posterior participation ratio 1 / sum_mu p_mu(x)^2 (how
    many training points the exact posterior at x mixes), spectral radius and basin;
    and the counts per class."""
    pts = found["points"]
    labels = classify_stable_points(pts, data, sigma)
    xi = np.asarray(data)
    if len(pts):
        dist = np.sqrt(((pts[:, None, :] - xi[None]) ** 2).sum(-1)).min(axis=1)
        w = dam_weights(pts, xi, 1.0 / sigma ** 2)
        n_eff = 1.0 / (w ** 2).sum(axis=1)
    else:
        dist = n_eff = np.zeros(0)
    return {"counts": {c: int(sum(lab == c for lab in labels)) for c in CLASSES},
            "points": [{"x": round(float(p[0]), 6), "y": round(float(p[1]), 6), "class": lab,
                        "radius": round(float(np.hypot(*p)), 6), "nearest": round(float(d), 6),
                        "n_eff": round(float(ne), 4), "rho": round(float(r), 6), "basin": int(b)}
                       for p, lab, d, ne, r, b in zip(pts, labels, dist, n_eff, found["rho"], found["basin"])],
            "unstable_ends": found["unstable"], "not_converged": found["not_converged"]}


# ----------------------------------------------------------------------------- one model
def measure_model(cfg: dict) -> dict:
    """One (n, seed): train the score network and take the census of stable points of the
    network and of the exact DAM denoiser.

    cfg : n, seed, sigma, hidden, steps, batch, lr, grid (starts per side of the grid on
        [-1.5, 1.5]^2), max_iter, tol.
    Returns {"n", "seed", "data" (training points), "network": describe_points + the final
    loss (mean of the last 10% of steps), "exact": describe_points + the loss of the exact
    denoiser}. No timings: the result depends on cfg alone (it is cached by it).
    """
    data = circle_data(cfg["n"], cfg["seed"])
    sigma = cfg["sigma"]
    starts = grid_starts(cfg["grid"])
    dedup = DEDUP_SIGMA * sigma
    net, losses = train_score_network(data, sigma, cfg["hidden"], cfg["steps"], cfg["batch"], cfg["lr"],
                                      seed=1000 * cfg["seed"] + cfg["n"] + _NET)
    out = {"n": cfg["n"], "seed": cfg["seed"], "data": np.round(data, 6).tolist()}
    for name, (den, jac) in (("network", network_denoiser(net, sigma)), ("exact", exact_denoiser(data, sigma))):
        found = find_stable_points(den, jac, starts, cfg["max_iter"], cfg["tol"], dedup)
        out[name] = describe_points(found, data, sigma)
    tail = losses[-max(1, len(losses) // 10):]
    out["network"]["final_loss"] = float(tail.mean())
    out["exact"]["loss_of_exact"] = exact_loss(data, sigma, seed=cfg["seed"])
    return out


def exact_loss(data, sigma: float, n_samples: int = 20000, seed: int = 0) -> float:
    """The denoising loss of the exact empirical denoiser (the floor the network's loss
    can reach), Monte Carlo over `n_samples` fresh (x0, eps) drawn with seed [seed, 13]."""
    rng = np.random.default_rng([seed, 13])
    xi = np.asarray(data)
    x0 = xi[rng.integers(0, len(xi), n_samples)]
    eps = rng.standard_normal((n_samples, 2))
    x = x0 + sigma * eps
    eps_hat = (x - empirical_denoiser(x, xi, sigma)) / sigma
    return float(((eps_hat - eps) ** 2).sum(axis=1).mean())


# ----------------------------------------------------------------------------- summaries
def summarise(results: list, n_values: list) -> dict:
    """Per model kind ("network", "exact") and class: mean and s.e. over seeds of the number
    of stable points against n; also the mean participation ratio and the largest
    | |x| - 1 | of the non-memorised points, the starts that never settled, and the
    network's final loss against the exact denoiser's."""
    out = {}
    for kind in ("network", "exact"):
        d = {"n": list(n_values)}
        for c in CLASSES + ("total",):
            means, sems = [], []
            for n in n_values:
                rs = [r[kind] for r in results if r["n"] == n]
                v = [sum(r["counts"].values()) if c == "total" else r["counts"][c] for r in rs]
                m, s = mean_sem(v)
                means.append(m)
                sems.append(s)
            d[c] = {"mean": means, "sem": sems}
        d["n_eff_non_memorised"] = []
        for n in n_values:
            v = [p["n_eff"] for r in results if r["n"] == n for p in r[kind]["points"] if p["class"] != "memorised"]
            d["n_eff_non_memorised"].append(float(np.mean(v)) if v else None)
        d["max_off_circle_non_memorised"] = []   # largest | |x| - 1 |: r_off above it finds no spurious point
        for n in n_values:
            v = [abs(p["radius"] - 1) for r in results if r["n"] == n for p in r[kind]["points"]
                 if p["class"] != "memorised"]
            d["max_off_circle_non_memorised"].append(float(max(v)) if v else None)
        d["not_converged"] = [int(sum(r[kind]["not_converged"] for r in results if r["n"] == n)) for n in n_values]
        out[kind] = d
    out["network"]["final_loss"] = [float(np.mean([r["network"]["final_loss"] for r in results if r["n"] == n]))
                                    for n in n_values]
    out["network"]["loss_of_exact"] = [float(np.mean([r["exact"]["loss_of_exact"] for r in results if r["n"] == n]))
                                       for n in n_values]
    return out


def spurious_peak(curve: dict, k: float = 2.0) -> dict:
    """Whether the mean spurious count peaks strictly inside the n range: its maximum is at
    neither end and exceeds both end values by more than k combined standard errors
    (sqrt(se_max^2 + se_end^2)). Returns {"peak": bool, "n_at_max", "max", "margin_low",
    "margin_high"} (margins in combined s.e.; inf where both s.e. are 0 and it exceeds)."""
    m, s = np.asarray(curve["spurious"]["mean"]), np.asarray(curve["spurious"]["sem"])
    i = int(np.argmax(m))

    def margin(j):
        se = math.hypot(s[i], s[j])
        diff = m[i] - m[j]
        return float(diff / se) if se > 0 else (math.inf if diff > 0 else 0.0)

    lo, hi = margin(0), margin(len(m) - 1)
    inside = 0 < i < len(m) - 1
    return {"peak": bool(inside and lo > k and hi > k), "n_at_max": curve["n"][i], "max": float(m[i]),
            "margin_low": lo, "margin_high": hi, "k": k}


def panel_choice(results: list, summary: dict, n_values: list, seed: int) -> dict:
    """The three n drawn as landscapes: the smallest (memorising), the largest
    (generalising), and between them the n whose network memorised fraction of stable
    points is closest to 1/2 (the transition); all for the first seed."""
    frac = []
    for j, n in enumerate(n_values):
        tot = summary["network"]["total"]["mean"][j]
        frac.append(summary["network"]["memorised"]["mean"][j] / tot if tot else 0.0)
    inner = list(range(1, len(n_values) - 1)) or [0]
    mid = min(inner, key=lambda j: abs(frac[j] - 0.5))
    picks = {"memorising": n_values[0], "transition": n_values[mid], "generalising": n_values[-1]}
    return {"seed": seed, **picks}


def landscape(data, sigma: float, half_width: float = 1.5, n_side: int = 81) -> dict:
    """The exact energy E (eq. D1 at beta = 1/sigma^2, relative to its minimum) on a grid,
    for the landscape panels: {"axis": grid coordinates, "energy": n_side x n_side}."""
    from amsim.dense import dam_energy
    g = np.linspace(-half_width, half_width, n_side)
    xx, yy = np.meshgrid(g, g)
    e = dam_energy(np.stack([xx.ravel(), yy.ravel()], axis=1), data, 1.0 / sigma ** 2).reshape(xx.shape)
    return {"axis": np.round(g, 6).tolist(), "energy": np.round(e - e.min(), 4).tolist()}


def figure_data(results: list, settings: dict) -> dict:
    """All the numbers of the figure and the JSON: settings, per-model censuses, the
    summary per n, the peak test for both models, and the landscapes of three n."""
    n_values = settings["n_values"]
    summary = summarise(results, n_values)
    picks = panel_choice(results, summary, n_values, settings["seeds"][0])
    panels = {}
    for phase in ("memorising", "transition", "generalising"):
        r = next(r for r in results if r["n"] == picks[phase] and r["seed"] == picks["seed"])
        panels[phase] = {"n": r["n"], "seed": r["seed"], "data": r["data"],
                         "network": r["network"]["points"], "exact": r["exact"]["points"],
                         **landscape(np.asarray(r["data"]), settings["sigma"])}
    return {"settings": settings, "summary": summary,
            "peak": {k: spurious_peak(summary[k]) for k in ("network", "exact")},
            "panels": panels, "models": results}
