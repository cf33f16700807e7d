"""Where seq2seq keeps downloaded packages and built corpora; paths the file system refuses to look up."""

import os
from pathlib import Path

from seq2seq.errors import Seq2SeqError

CACHE_ENV_VAR = "SEQ2SEQ_CACHE_DIR"


def default_cache_dir() -> Path:
    """`$SEQ2SEQ_CACHE_DIR`, else `$XDG_CACHE_HOME/seq2seq`, else `~/.cache/seq2seq`."""
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "seq2seq"


def checked_path(path) -> Path:
    """`path` as a Path, or a one-line error where the file system refuses to look the name up.

    pathlib's exists() and is_file() answer False for a missing file but raise OSError for a name
    longer than the file system allows (ENAMETOOLONG), so a mistyped argument would end in a traceback.
    """
    path = Path(path)
    try:
        path.exists()
    except OSError as error:
        raise Seq2SeqError(f"{path}: {error.strerror}") from None
    return path


def resolve_cache_dir(cache_dir=None) -> Path:
    """The cache directory chosen by flag, environment or default, created if missing."""
    path = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path
