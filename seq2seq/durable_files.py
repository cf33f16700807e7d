"""Files written so that a kill, a power loss or a full disk leaves the old file or the new one, never a mix.

Each write fills a partial file beside the target, flushes it to the disk (`fsync`), renames it over
the target, and flushes the directory so that the rename itself survives a power loss (POSIX
`rename` is atomic, but the new directory entry lives in the page cache until the directory is
synced). The partial file's name carries `PARTIAL_MARK`, so a resume's clean-up removes our own
leftovers and never a user's file that merely looks temporary.

A failed write (a full disk, a quota, a read-only file system) removes its partial file and raises
a `Seq2SeqError` naming the file: the file it was to replace is untouched.

`fault_injection.moment` marks the points inside a write where the fault tests kill the process
or fill the disk.
"""

import errno
import os
import shutil
from pathlib import Path

from seq2seq.errors import Seq2SeqError
from seq2seq.fault_injection import moment

PARTIAL_MARK = ".partial-seq2seq"

_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


def partial_file(path: Path) -> Path:
    """Where `path` is written before it is renamed into place; keeps the suffix (Keras insists on `.keras`,
    numpy on `.npy`)."""
    return path.with_name(f".{path.stem}{PARTIAL_MARK}{path.suffix}")


def partial_files(directory: Path) -> list:
    """The partial files under `directory` that an interrupted write of ours left."""
    return sorted(path for path in Path(directory).rglob(f"*{PARTIAL_MARK}*") if path.is_file())


def replace_atomically(path: Path, write) -> None:
    """Let `write(partial_path)` fill a partial file, then move it over `path` durably."""
    path = Path(path)
    partial = partial_file(path)
    what = f"{path.parent.name}/{path.name}"
    try:
        write(partial)
        moment(f"{what} written")
        _sync(partial)
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise Seq2SeqError(f"{path}: could not be written ({_reason(error)}); the file it was to replace, if any, "
                           "is unchanged") from None
    moment(f"{what} renamed")
    _sync_directory(path.parent)


def write_atomically(path: Path, data: bytes) -> None:
    def write_in_two_halves(partial):  # the fault tests' "writing" moment falls inside the write
        with open(partial, "wb") as handle:
            handle.write(data[:len(data) // 2])
            handle.flush()
            moment(f"{Path(path).parent.name}/{Path(path).name} writing")
            handle.write(data[len(data) // 2:])

    replace_atomically(path, write_in_two_halves)


def write_array_atomically(path: Path, array) -> None:
    """A numpy array as a `.npy` file (e.g. cached image features)."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(path, lambda partial: np.save(partial, array))


def save_model_atomically(model, path: Path) -> None:
    replace_atomically(path, model.save)


def copy_atomically(source: Path, destination: Path) -> None:
    replace_atomically(destination, lambda partial: shutil.copyfile(source, partial))


def make_durable(*paths) -> None:
    """Flush files another library wrote in place (SentencePiece's models) and their directories to the disk.

    Such a file is not atomic, but it is written before a run's first checkpoint, and a run killed then
    starts again and writes it anew.
    """
    for path in paths:
        try:
            _sync(path)
        except OSError as error:
            raise Seq2SeqError(f"{path}: could not be flushed to the disk ({_reason(error)})") from None
    for directory in {Path(path).parent for path in paths}:
        _sync_directory(directory)


def _reason(error: OSError) -> str:
    if error.errno in _NO_SPACE:
        return "no space left on the device; free some and run again, with --resume for a training run"
    return error.strerror or str(error)


def _sync(path: Path) -> None:
    """`fsync` a file, or a directory (which makes the renames in it durable)."""
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _sync_directory(directory: Path) -> None:
    try:
        _sync(directory)
    except OSError as error:
        if error.errno in (errno.EINVAL, errno.EBADF):  # a file system that cannot sync a directory
            return
        raise Seq2SeqError(f"{directory}: could not be flushed to the disk ({_reason(error)})") from None
