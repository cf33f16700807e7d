"""A Debian package built in a test, as `dpkg-deb --build` lays it out, for the readers of .deb files."""

import io
import tarfile
from pathlib import Path


def fake_deb(package: Path, deb: Path) -> Path:
    """A .deb as dpkg builds it: an ar archive of debian-binary, control.tar.xz and data.tar.xz."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:xz") as archive:
        archive.add(package, arcname=".")
    members = [("debian-binary", b"2.0\n"), ("control.tar.xz", b""), ("data.tar.xz", data.getvalue())]
    with open(deb, "wb") as handle:
        handle.write(b"!<arch>\n")
        for name, content in members:
            handle.write(f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(content):<10}`\n".encode())
            handle.write(content + b"\n" * (len(content) % 2))
    return deb
