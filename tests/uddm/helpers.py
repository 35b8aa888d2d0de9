"""Small helpers shared by the uddm tests (not a conftest: import explicitly)."""
from __future__ import annotations

import torch

from uddm.model import DiT, get_config


def random_dit(name="cpu-xxs", vocab_size=13, seed=0, **over) -> DiT:
    """A DiT whose zero-initialised parts are filled with random values (a 'trained' look)."""
    torch.manual_seed(seed)
    m = DiT(get_config(name, vocab_size=vocab_size, **over))
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(0.3 * torch.randn(p.shape, generator=g))
        m.output_layer.linear.bias.zero_()     # no token favoured whatever the input
    return m.eval()


class FixedDenoiser(torch.nn.Module):
    """A stand-in network returning the same logits whatever the input."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = logits
        K = logits.shape[-1]
        self.config = get_config("cpu-xxs", vocab_size=K, length=logits.shape[0])
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, z, sigma):
        return self.logits.expand(z.shape[0], -1, -1).clone()
