"""uddm: a uniform-state discrete diffusion language model (PyTorch).

The science is in docs/science-uddm.md (equation numbers of the paper
"Language Diffusion Models are Associative Memories Capable of Retrieving Unseen Data").

    uddm.diffusion  schedules, forward corruption (eq. 1), reverse posterior (eq. 2),
                    NELBO (eq. 3), Gaussian-to-uniform map T (Appendix B)
    uddm.model      the diffusion transformer (DiT), named configurations, DUO loading
    uddm.data       tokenizers, offline corpora, nested subsets
    uddm.train      the training loop and checkpoints
    uddm.sample     generation and retrieval
    uddm.measures   tensor versions of the shared measures (eqs. 12, 13)
    uddm.retrieval  the model as a memkit.protocol.Retriever (shared with amsim)
    uddm.cli        the `uddm` command
"""
from uddm.diffusion import (CosineSchedule, LogLinearSchedule, forward_corrupt,
                            gaussian_to_uniform, make_schedule, nelbo_per_token,
                            reverse_posterior)
from uddm.model import CONFIGS, DiT, ModelConfig, count_parameters, get_config, load_duo_checkpoint
from uddm.retrieval import DiffusionRetriever

__all__ = ["CosineSchedule", "LogLinearSchedule", "forward_corrupt", "gaussian_to_uniform",
           "make_schedule", "nelbo_per_token", "reverse_posterior", "CONFIGS", "DiT",
           "ModelConfig", "count_parameters", "get_config", "load_duo_checkpoint",
           "DiffusionRetriever"]
