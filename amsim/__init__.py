"""amsim: a binary associative-memory simulator.

N +-1 neurons, couplings J with zero diagonal and no symmetry assumed (row
convention h = J sigma), learned by Hebb's rule or by pseudo-likelihood; the
deterministic and Glauber dynamics; margins, conditional entropies, basins of
attraction and a census of attractors; and the classical theory to check them
against. The science and the equation numbers are in docs/science-am.md.

Modules, each with one job:
    patterns   random patterns, random-features and archetype data, bit flips
    network    local fields, eq. 9 probabilities, entropies, margins (eq. 7)
    learning   Hebb, pseudo-likelihood loss/gradient (eqs. 10, 11), training
    maxmargin  exact max-margin rows (AdaTron; all or some rows), the LP separability
               test of a row
    memory     estimator classes: HebbianMemory, PseudoLikelihoodMemory, ...
    dynamics   synchronous / asynchronous / Glauber dynamics, many trials; one sync step
    basins     basin curves, basin radius, census of attractors
    retrieval  the network as a memkit.protocol.Retriever (shared with uddm)
    dense      dense associative memory: log-sum-exp energy, softmax-attention update,
               sign update, and the optimal denoiser / score of a diffusion model
               trained on the same points (eqs. D1-D6)
    theory     one-step Hebbian error, AGS overlap, Gardner capacity and stability
               law, Cover's separability
    netfile    the .npz layout of a saved network (arrays and dicts only)
    io         save / load networks (.npz, no pickle, atomic); builds on memory
    plots      the standard figures (amsim.plots, loaded with the package)

Studies behind the experiment scripts (import them by name, they are not loaded with
the package; each holds a sweep's units, its plan and the numbers of its figures, and a
module that draws them):
    generalization, generalization_plots  experiments/am_generalization.py
    margin_study, margin_figures          experiments/perceptron_margin.py
    capacity_study, capacity_figures      experiments/am_capacity.py
    circle_study, circle_figures          experiments/dense_circle.py (needs torch)
"""
from amsim.basins import BasinCurve, Census, attractor_census, basin_curve, basin_radius
from amsim.dense import (
    DenseAssociativeMemory,
    DenseRunResult,
    dam_energy,
    dam_energy_gradient,
    dam_jacobian,
    dam_sign_update,
    dam_update,
    dam_weights,
    empirical_denoiser,
    empirical_log_density,
    empirical_score,
)
from amsim.dynamics import RetrievalResult, is_symmetric, run_dynamics, sync_step
from amsim.io import load_network, save_network
from amsim.learning import (
    GradientTerms,
    TrainingHistory,
    hebb_couplings,
    pl_gradient,
    pl_gradient_terms,
    pl_loss,
    pl_objective_and_gradient,
    train_pseudo_likelihood,
)
from amsim.maxmargin import max_margin_couplings, row_separable
from amsim.memory import (
    AssociativeMemory,
    HebbianMemory,
    MaxMarginMemory,
    PseudoLikelihoodMemory,
)
from amsim.network import (
    conditional_entropy,
    conditional_probability,
    default_tie_tol,
    energy,
    is_fixed_point,
    local_fields,
    margins,
    probability_plus,
    stable_neurons,
    total_conditional_entropy,
)
from amsim.patterns import ArchetypeModel, RandomFeaturesModel, flip_bits, random_patterns, unseen
from amsim.retrieval import AMRetriever
from amsim.theory import (
    ags_alpha_c,
    ags_overlap,
    cover_separable_probability,
    gardner_alpha_c,
    gardner_kappa_opt,
    gardner_mass_near_margin,
    gardner_stability_binned,
    gardner_stability_peak_weight,
    gardner_stability_tail_pdf,
    hebb_one_step_error,
    mixture_state,
)

from memkit.measures import overlap, overlap_matrix
from amsim import plots

__version__ = "0.1.0"

import types as _types

__all__ = sorted(
    name for name, value in globals().items()
    if not name.startswith("_") and not isinstance(value, _types.ModuleType)
)
