"""The bounded half of checking a presented PDF, run as a child process (never imported by Django).

`contract_pdf_check` hashes a presented file first; only a file that is not a PDF Fenrun issued
is parsed, to tell "modified" from "not Fenrun's". pypdf on a crafted file (a broken cross-
reference table over hundreds of thousands of objects) took 7 s or more of a web worker, so the
parse runs here: `python -I pdf_probe.py MEMORY_BYTES CPU_SECONDS METADATA_KEY` reads the PDF on
stdin, caps its own address space and CPU time before importing pypdf, and prints one JSON
object {"pages": n, "claimed": "<the document hash the metadata names>"}. The parent kills it
at its wall-clock limit. Standard library and pypdf only.
"""

from __future__ import annotations

import io
import json
import logging
import resource
import sys


def main() -> None:
    memory_bytes, cpu_seconds, metadata_key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    logging.disable(logging.CRITICAL)  # pypdf warns about every oddity of a hostile file

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(sys.stdin.buffer.read()))
    pages = len(reader.pages)
    metadata = reader.metadata
    claimed = str(metadata.get(f"/{metadata_key}", "") or "") if metadata is not None else ""
    sys.stdout.write(json.dumps({"pages": pages, "claimed": claimed[:200]}))


if __name__ == "__main__":
    main()
