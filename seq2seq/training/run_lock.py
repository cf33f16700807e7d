"""One writer per run directory: a second training, resume or average of a run that a live process is
writing refuses, instead of two processes overwriting each other's checkpoints.

The lock is `flock` on RUN/run.lock. The kernel releases it when its process ends in any way (exit,
crash, SIGKILL), so a lock left behind by a killed process is stale by construction: the file stays,
the lock does not. The file names its holder while held and is emptied on a clean release, so text
found in it on taking the lock says a holder was killed, which the log mentions.

Each worker of a multi-worker run writes its own copy of the run directory
(`seq2seq.training.distribute.own_run_directory`) and locks that copy.
"""

import fcntl
import os
import socket
from contextlib import contextmanager
from pathlib import Path

from seq2seq.errors import Seq2SeqError

LOCK_FILE = "run.lock"


@contextmanager
def run_lock(run_dir, command, log=print):
    """Hold the run's lock while the block runs; `command` (e.g. "seq2seq train") names the holder to
    whoever else tries. The run directory must exist."""
    path = Path(run_dir) / LOCK_FILE
    try:
        handle = open(path, "a+", encoding="utf-8")
    except OSError as error:  # a run directory we may not write, a full disk
        raise Seq2SeqError(f"{path}: cannot be created to lock the run ({error.strerror})") from None
    with handle:  # closing it releases the lock
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Seq2SeqError(f"{run_dir}: {_holder(handle) or 'another process'} is writing this run; wait for "
                               "it to end (or stop it) first, or choose another run directory") from None
        except OSError as error:  # a file system without locks (some network and FUSE ones)
            raise Seq2SeqError(f"{path}: cannot be locked ({error.strerror}); put the run on a local disk") from None
        previous = _holder(handle)
        if previous:
            log(f"note: {previous} ended without releasing {path} (killed?); its lock was stale and is taken over")
        handle.truncate(0)
        try:
            handle.write(f"`{command}` (pid {os.getpid()} on {socket.gethostname()})")
            handle.flush()
        except OSError:
            pass  # the lock holds without the holder's name (a full disk); a refusal then says "another process"
        try:
            yield
        finally:
            handle.truncate(0)  # an ending of any kind but a kill: no stale-lock note next time


def _holder(handle) -> str:
    handle.seek(0)
    return handle.read().strip()
