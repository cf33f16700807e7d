"""Debian packages as a data source: fetched once with `apt-get download`, read in pure Python.

A .deb is an `ar` archive whose `data.tar.*` member holds the installed files; reading it needs no
root, no `dpkg` and no unpacking to disk. The Tux Paint stamps and the software catalogs
(seq2seq.data.software) are read this way. Downloads are kept in the cache's packages/ folder, so a
second build reads the same files.
"""

import io
import os
import shutil
import subprocess
import tarfile
import textwrap
from pathlib import Path, PurePosixPath

from seq2seq.errors import Seq2SeqError


def download_packages(names, packages_dir: Path, hint: str, log) -> dict[str, Path]:
    """{package: its .deb}, from an earlier download or fetched with one `apt-get download` call.

    `hint` ends each error: what the user can do instead (e.g. "pass --from PATH with ...").
    """
    found = {name: _cached(packages_dir, name) for name in names}
    missing = [name for name, deb in found.items() if deb is None]
    if not missing:
        return found
    if shutil.which("apt-get") is None:
        raise Seq2SeqError(f"apt-get was not found, so {_listed(missing)} cannot be downloaded here (Debian "
                           f"packages); on a Debian or Ubuntu machine run `apt-get download {' '.join(missing)}`, "
                           f"then {hint}")
    packages_dir.mkdir(parents=True, exist_ok=True)
    log(f"downloading {_listed(missing)} with apt-get into {packages_dir}")
    result = subprocess.run(["apt-get", "download", *missing], cwd=packages_dir, capture_output=True, text=True)
    found.update({name: _cached(packages_dir, name) for name in missing})
    still_missing = [name for name in missing if found[name] is None]
    if result.returncode != 0 or still_missing:
        errors = [line for line in result.stderr.splitlines() if line.startswith("E:")]
        reason = (errors or result.stderr.strip().splitlines() or [f"apt-get exited with {result.returncode}"])[-1]
        raise Seq2SeqError(f"could not download {_listed(still_missing or missing)} with apt-get ({reason}); run "
                           f"`apt-get update` if a package is unknown, or {hint}")
    return found


def package_version(deb: Path) -> str:
    """The version in a downloaded package's file name (`git_1%3a2.39.5-0+deb12u3_amd64.deb` -> 1:2.39.5-0+deb12u3)."""
    parts = deb.name.split("_")
    return parts[1].replace("%3a", ":") if len(parts) == 3 else "unknown"


def read_package_files(deb: Path, wanted, hint: str) -> dict[PurePosixPath, bytes]:
    """{path inside the package: contents} of the regular files for which `wanted(path)` is true."""
    with open(deb, "rb") as handle:
        if handle.read(8) != b"!<arch>\n":
            raise Seq2SeqError(f"{deb}: not a Debian package (no 'ar' archive header); download it again")
        while header := handle.read(60):
            name = header[:16].decode("ascii", "replace").strip().rstrip("/")
            try:
                size = int(header[48:58])
            except ValueError:
                size = -1
            if size < 0:  # int() also reads "-500": a size to read or skip must be a count
                raise Seq2SeqError(f"{deb}: damaged 'ar' member header; download it again")
            if name.startswith("data.tar"):
                if name.endswith(".zst"):
                    raise Seq2SeqError(f"{deb}: data.tar.zst cannot be read by this Python; {hint}")
                return _files_in_tar(io.BytesIO(handle.read(size)), wanted, deb)
            handle.seek(size + size % 2, os.SEEK_CUR)
    raise Seq2SeqError(f"{deb}: no data.tar member; is it a Debian package? download it again")


def _files_in_tar(data, wanted, deb: Path) -> dict[PurePosixPath, bytes]:
    files = {}
    try:
        with tarfile.open(fileobj=data, mode="r:*") as archive:
            for member in archive:
                path = PurePosixPath(member.name.removeprefix("./"))
                if member.isfile() and wanted(path):
                    files[path] = archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as error:
        # tarfile's message for "r:*" lists each method it tried, one per line: one line here
        reason = textwrap.shorten(str(error), 300, placeholder=" ...")
        raise Seq2SeqError(f"{deb}: cannot read the package's files ({reason}); download it again") from None
    return files


def _cached(packages_dir: Path, name: str):
    """The newest download of the package (by time: file names do not sort like Debian versions)."""
    found = list(packages_dir.glob(f"{name}_*.deb"))
    return max(found, key=lambda deb: deb.stat().st_mtime) if found else None


def _listed(names) -> str:
    return ", ".join(names) if len(names) <= 5 else f"{', '.join(names[:5])} and {len(names) - 5} more packages"
