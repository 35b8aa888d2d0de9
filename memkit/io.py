"""Atomic file writes and configuration hashes.

Every result, network and checkpoint the project writes goes through
`atomic_write`: the bytes land in a temporary file in the destination folder,
are flushed to disk, and replace the destination in one `os.replace`. A run
killed half-way leaves either the old file or the new one, never a torn one.
Output paths are checked first (`resolve_output`): a symlink is followed and its
target replaced (the link stays), a directory, device or FIFO is refused, and an
unwritable folder is reported under the user's path.
"""
from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np


def resolve_output(path: str | os.PathLike, what: str | None = None) -> Path:
    """The file an output path really names, checked before any work is done.

    A symlink is followed (through every level) to its target, which must be a
    regular file or absent: the target is what gets replaced, and the link stays a
    link. A directory, a device, a FIFO or a socket is refused, and so is a folder
    that cannot be written (the nearest existing ancestor when folders are still to
    be created). The ValueError names the path as the user gave it (`what` is the
    option, e.g. "--out").
    """
    label = f"{what} {os.fspath(path)}" if what else os.fspath(path)
    p = Path(path)
    target = Path(os.path.realpath(p)) if p.is_symlink() else p
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise ValueError(f"cannot write {label}: {exc.strerror}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        kind = ("a directory" if stat.S_ISDIR(st.st_mode) else
                "a FIFO" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        via = f" (the target {target} of a symlink)" if target != p else ""
        raise ValueError(f"cannot write {label}: it is {kind}{via}; give a regular file")
    folder = target.parent if str(target.parent) else Path(".")
    probe = folder
    while not probe.exists():
        if probe.is_symlink() or probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ValueError(f"cannot write {label}: {probe} is not a folder")
    if probe.is_dir() and not _can_create_in(probe):
        raise ValueError(f"cannot write {label}: folder {probe} is not writable")
    return target


def _can_create_in(folder: Path) -> bool:
    """Whether a file can be created in `folder` (tried, not guessed from the mode
    bits: root, read-only mounts and /proc-like folders are judged correctly)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".genmem-probe.{os.getpid()}.", suffix=".tmp", dir=folder)
    except OSError:
        return False
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)
    return True


def check_outputs(**paths) -> None:
    """`resolve_output` for every given output, e.g. check_outputs(**{"--out": out}).

    None values are skipped. Call it at the top of a command, before any work.
    """
    for what, path in paths.items():
        if path is not None:
            resolve_output(path, what)


_TMP_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


def _clean_stale_temporaries(folder: Path, name: str) -> None:
    """Remove temporary files that a killed writer of `name` left in `folder`.

    Temporary names carry the writer's process id; a file is stale when that
    process no longer exists (a live writer, even a concurrent one, is left alone).
    Readers never look at these names, so a leftover that cannot be removed is
    harmless.
    """
    try:
        entries = list(folder.glob(f".{glob.escape(name)}.*.tmp"))
    except OSError:
        return
    for e in entries:
        m = _TMP_RE.match(e.name)
        if not m or m.group("name") != name:
            continue
        pid = int(m.group("pid"))
        if pid == os.getpid() or _pid_alive(pid):
            continue
        with contextlib.suppress(OSError):
            e.unlink()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True
    return True


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[io.IOBase]:
    """Open a temporary file beside `path`; on clean exit move it onto `path`.

    Parameters
    ----------
    path : destination file. Its folder is created if missing. A symlink is
        followed to its target (a regular file or absent), which is replaced in its
        own folder, so the link stays a link. A directory, device or FIFO is refused
        (ValueError), as is an unwritable folder, under the name the caller gave.
    mode : "wb" (bytes) or "w" (text, UTF-8).

    On an exception inside the block the temporary file is removed and `path`
    is left untouched. Temporary files of killed writers are removed.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write mode must be 'wb' or 'w', got {mode!r}")
    user_path = path
    target = resolve_output(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale_temporaries(target.parent, target.name)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                                   dir=target.parent)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {os.fspath(user_path)}: "
                                 f"{exc.strerror or exc}") from None
    try:
        # mkstemp creates 0600; keep the mode of the file replaced, or give the one
        # a plain open() would (0666 & ~umask)
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        except FileNotFoundError:
            os.chmod(tmp, 0o666 & ~_umask())
        kwargs = {"encoding": "utf-8"} if mode == "w" else {}
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
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
