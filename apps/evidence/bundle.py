"""Writing a bundle: a ZIP whose members are streamed in, each hashed as it is written, and a
manifest of every member's SHA-256 and size written last.

Nothing is held whole in memory: a member is written through `ZipFile.open(name, "w")` in the
pieces the caller gives (one CSV row, one JSON line), so a creator with 100,000 lines costs the
ZIP's deflate window, not the lines.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

MANIFEST = "manifest.json"

# The bundle's one serialisation, the ledger's and the leaves' (keys sorted, no spaces, UTF-8).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
_READABLE = json.JSONEncoder(sort_keys=True, indent=2, ensure_ascii=False).encode


def canonical(value: Any) -> str:
    return _CANONICAL(value)


class Member:
    """One file being written into the ZIP: text or bytes in pieces, hashed on the way."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self._sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | str) -> None:
        raw = data.encode() if isinstance(data, str) else data
        self._handle.write(raw)
        self._sha.update(raw)
        self.size += len(raw)

    def json_line(self, value: Any) -> None:
        """One JSON Lines record, canonical: a reader re-serialising it gets the same bytes."""
        self.write(_CANONICAL(value) + "\n")

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


class BundleWriter:
    def __init__(self, output: IO[bytes]) -> None:
        self._zip = zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self.files: dict[str, dict[str, Any]] = {}

    @contextmanager
    def member(self, name: str) -> Iterator[Member]:
        if name in self.files or name == MANIFEST:
            raise ValueError(f"{name} is already in the bundle")
        # force_zip64: a member's size is unknown until it is written, and may pass 2 GiB.
        with self._zip.open(name, "w", force_zip64=True) as handle:
            member = Member(handle)
            yield member
        self.files[name] = {"sha256": member.sha256, "size": member.size}

    def add(self, name: str, data: bytes | str) -> str:
        """A small file whole; its SHA-256."""
        with self.member(name) as member:
            member.write(data)
        return str(self.files[name]["sha256"])

    def add_json(self, name: str, value: Any) -> str:
        return self.add(name, _READABLE(value) + "\n")

    def add_stream(self, name: str, chunks: Iterator[bytes]) -> str:
        with self.member(name) as member:
            for chunk in chunks:
                member.write(chunk)
        return str(self.files[name]["sha256"])

    def close(self) -> None:
        manifest = {
            "algorithm": "sha256",
            "about": "Every other file of this bundle with its SHA-256 and size in bytes.",
            "files": dict(sorted(self.files.items())),
        }
        with self._zip.open(MANIFEST, "w") as handle:
            handle.write((_READABLE(manifest) + "\n").encode())
        self._zip.close()
