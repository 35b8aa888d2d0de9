"""Saving and loading networks: one .npz file, no pickled objects, written atomically.

Layout of the file:
    couplings   float64 (N, N)
    beta        float64 ()
    meta        a JSON string: format version, the learning rule and its
                parameters, and anything the caller adds (data model, seed, ...)
    data_<name> int8 (M, N) optional reference sets (training, test, hidden, ...)

`load_network` returns the couplings bit for bit.
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from memkit.io import atomic_save_npz

FORMAT = "amsim-network"
VERSION = 1


def save_network(path, net, meta: dict | None = None, **arrays) -> None:
    """Write `net` (an AssociativeMemory with `J_`) and reference arrays to `path`.

    Parameters
    ----------
    path : destination, conventionally ending in .npz
    net : fitted AssociativeMemory
    meta : extra JSON-serialisable information stored with the network
    arrays : named +-1 arrays stored as data_<name>, e.g. training=xi, test=xt
    """
    if not hasattr(net, "J_"):
        raise ValueError("cannot save a network without couplings: fit it first")
    info = {"format": FORMAT, "version": VERSION, "rule": getattr(net, "rule", "given"),
            "params": {k: v for k, v in net.get_params().items()}}
    info.update(meta or {})
    payload = {
        "couplings": np.asarray(net.J_, dtype=np.float64),
        "beta": np.float64(net.beta),
        "meta": np.array(json.dumps(info, sort_keys=True, default=str)),
    }
    for name, arr in arrays.items():
        if arr is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"array name must be an identifier, got {name!r}")
        payload[f"data_{name}"] = np.asarray(arr, dtype=np.int8)
    atomic_save_npz(path, **payload)


def load_network(path):
    """Read a network written by `save_network`.

    Returns
    -------
    net : AssociativeMemory with `J_` and `beta` restored (bit for bit)
    meta : dict, the stored JSON information
    arrays : dict name -> int8 array (the data_<name> entries)

    Raises
    ------
    FileNotFoundError if `path` does not exist; ValueError if it is not a
    valid amsim network file (truncated, corrupt, or another format).
    """
    from amsim.memory import AssociativeMemory

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"network file not found: {os.fspath(path)}")
    try:
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            missing = {"couplings", "beta", "meta"} - files
            if missing:
                raise ValueError(f"missing entries {sorted(missing)}")
            J = z["couplings"]
            beta = float(z["beta"])
            meta = json.loads(str(z["meta"]))
            arrays = {k[5:]: z[k] for k in sorted(files) if k.startswith("data_")}
    except (zipfile.BadZipFile, OSError, EOFError, json.JSONDecodeError, KeyError, ValueError) as exc:
        raise ValueError(f"{os.fspath(path)} is not a valid amsim network file ({exc})") from None
    if meta.get("format") != FORMAT:
        raise ValueError(f"{os.fspath(path)} is not an amsim network file (format {meta.get('format')!r})")
    net = AssociativeMemory.from_couplings(J, beta=beta)
    net.rule = meta.get("rule", "given")
    return net, meta, arrays
