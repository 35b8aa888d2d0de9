"""Atomic file writes and configuration hashes.

Every result, network and checkpoint the project writes goes through
`atomic_write`: the bytes land in a temporary file in the destination folder,
are flushed to disk, and replace the destination in one `os.replace`. A run
killed half-way leaves either the old file or the new one, never a torn one.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a temporary file beside `path`; on clean exit move it onto `path`.

    Parameters
    ----------
    path : destination file. Its folder is created if missing.
    mode : "wb" (bytes) or "w" (text, UTF-8).

    On an exception inside the block the temporary file is removed and `path`
    is left untouched.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; give the file the mode a plain open() would (0666 & ~umask)
        os.chmod(tmp, 0o666 & ~_umask())
        kwargs = {"encoding": "utf-8"} if mode == "w" else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write `obj` as indented JSON to `path` atomically."""
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default)
    with atomic_write(path, "w") as fh:
        fh.write(text + "\n")


def atomic_save_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """`numpy.savez_compressed` to `path` atomically (no pickled objects)."""
    with atomic_write(path, "wb") as fh:
        np.savez_compressed(fh, **arrays)


def config_hash(config: Any, length: int = 16) -> str:
    """A stable hexadecimal digest of a JSON-serialisable configuration.

    Keys are sorted, so two dicts with the same content hash the same. Used to
    name cached models and results: a sweep point's file name is its hash.
    """
    text = json.dumps(config, sort_keys=True, default=_json_default, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")
