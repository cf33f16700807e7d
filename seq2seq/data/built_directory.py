"""A cached data directory written whole or not at all: built beside its place, then swapped in."""

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def building(directory: Path):
    """Yields an empty scratch directory next to `directory`; when the block ends without an error the
    scratch replaces `directory` (an old one is moved aside first, then deleted), so a crash never
    leaves half a corpus where a complete one is expected. On an error the scratch is removed."""
    scratch = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    scratch.chmod(0o755)  # mkdtemp makes it private; a corpus is ordinary data
    try:
        yield scratch
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    if directory.exists():
        stale = Path(tempfile.mkdtemp(prefix=f".{directory.name}-stale-", dir=directory.parent))
        os.replace(directory, stale / directory.name)
        shutil.rmtree(stale)
    os.replace(scratch, directory)
