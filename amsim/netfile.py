"""The file layout of a saved network: arrays and dicts only, no estimator classes.

One .npz file, no pickled objects, written atomically:
    couplings   float64 (N, N)
    beta        float64 ()
    meta        a JSON string: format version, the learning rule and its
                parameters, and anything the caller adds (data model, seed, ...)
    data_<name> int8 (M, N) optional reference sets (training, test, hidden, ...)

This is the bottom layer of saving and loading: `amsim.memory` builds on it
(`AssociativeMemory.save`), and `amsim.io` puts the two together
(`load_network` returns an `AssociativeMemory`). The dependency runs one way:
netfile <- memory <- io.
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
    net : fitted AssociativeMemory (anything with `J_`, `beta`, `rule` and
        `get_params()`)
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


def read_network_file(path):
    """The raw contents of a file written by `save_network`.

    Returns
    -------
    J : float64 (N, N) couplings, bit for bit as saved
    beta : float
    meta : dict, the stored JSON information
    arrays : dict name -> int8 array (the data_<name> entries)

    Raises
    ------
    FileNotFoundError if `path` does not exist; ValueError if it is not a
    valid amsim network file (truncated, corrupt, or another format).
    """
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
    return J, beta, meta, arrays
