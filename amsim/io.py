"""Saving and loading networks: one .npz file, no pickled objects, written atomically.

The layout of the file is in `amsim.netfile` (arrays and dicts only);
this module adds the estimator: `load_network` returns an `AssociativeMemory`
with the couplings bit for bit. The imports run one way,
netfile <- memory <- io, so neither memory nor netfile imports this module.
"""
from __future__ import annotations

from amsim.memory import AssociativeMemory
from amsim.netfile import FORMAT, VERSION, read_network_file, save_network

__all__ = ["FORMAT", "VERSION", "load_network", "read_network_file", "save_network"]


def load_network(path):
    """Read a network written by `save_network`.

    Returns
    -------
    net : AssociativeMemory with `J_` and `beta` restored (bit for bit) and
        `rule` the learning rule it was trained with
    meta : dict, the stored JSON information
    arrays : dict name -> int8 array (the data_<name> entries)

    Raises
    ------
    FileNotFoundError if `path` does not exist; ValueError if it is not a
    valid amsim network file (truncated, corrupt, or another format).
    """
    J, beta, meta, arrays = read_network_file(path)
    net = AssociativeMemory.from_couplings(J, beta=beta)
    net.rule = meta.get("rule", "given")
    return net, meta, arrays
