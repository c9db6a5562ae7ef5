"""The importer fuzzer of `make attack` (issue 16): damaged copies of real statements through the
real upload service (apps/income/uploads.statement_import_upload) and pipeline, in this process.

Every sample statement is first imported clean into the demo agency (its accounts are the
samples'); then each damaged copy is imported into the same agency, so every row that is still
what it was comes out a duplicate of the clean import. The rules:
- the upload is refused with a clear message (an ApplicationError), or the import ends done or
  failed with a message: never an uncaught exception, never an import left queued or running;
- a damaged copy creates no new line (a line that is new was parsed from the damage: an id
  Excel turned into 4.77835E+18, a truncated amount, a misread encoding);
- nothing is lost: when the import is done, the rows the damage did not touch come out
  duplicates (or the file is refused whole, with its reason), a damaged row is an error row.
"""

from __future__ import annotations

import contextlib
import random
import re
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [
    *sorted((ROOT / "tests" / "data" / "platform-exports").iterdir()),
    *sorted((ROOT / "tests" / "income" / "files").iterdir()),
    ROOT / "apps" / "demo" / "statements" / "starlight-2026-11.csv",
]
FULL_WIDTH = str.maketrans("0123456789.,-", "０１２３４５６７８９．，－")
LONG_ID = re.compile(rb"(?<![0-9])[0-9]{16,19}(?![0-9])")


@dataclass
class Case:
    sample: str
    mutation: str
    data: bytes
    touched_rows: int | None  # rows the damage touched (None: it may touch every row)
    format: str = "auto"
    cut_row: bool = False  # truncated: its last row may be cut inside an amount


@dataclass
class CaseOutcome:
    case: str
    verdict: str  # "refused", "done", "failed", "finding"
    detail: str
    imported: int = 0
    duplicates: int = 0
    errors: int = 0
    seconds: float = 0.0


@dataclass
class FuzzReport:
    outcomes: list[CaseOutcome] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    baselines: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _decode(data: bytes) -> tuple[str, str]:
    for codec in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def mutations(path: Path, rng: random.Random, *, huge_bytes: int) -> Iterator[Case]:
    """The damaged copies of one sample."""
    data = path.read_bytes()
    name = path.name
    is_text = not name.endswith(".xlsx")
    rows = _lines(data)
    # Truncated: the rows cut off are gone with the cut (no loss to count); the row cut in two
    # must not become a line of a different amount.
    yield Case(name, "truncated at half", data[: len(data) // 2], None, cut_row=True)
    yield Case(name, "truncated mid-row (a third)", data[: len(data) // 3], None, cut_row=True)
    yield Case(name, "header only", b"".join(rows[:1]) if is_text else data[:200], None)
    yield Case(
        name, "NUL bytes in a row", _nul_row(data, rows) if is_text else data.replace(b"PK", b"P\0", 1), 1
    )
    if not is_text:
        # A workbook is a zip: its bytes flipped and cut are the cases that apply.
        flipped = bytearray(data)
        for _ in range(20):
            flipped[rng.randrange(len(flipped))] = rng.randrange(256)
        yield Case(name, "20 bytes flipped", bytes(flipped), None)
        return
    text, codec = _decode(data)
    if codec == "gb18030":
        yield Case(name, "GBK file re-encoded as UTF-8", text.encode("utf-8"), 0)
        yield Case(name, "GBK file as UTF-16", text.encode("utf-16"), 0)
    else:
        plain = text.lstrip("\ufeff")
        with contextlib.suppress(UnicodeEncodeError):  # a character GBK lacks: no such copy
            yield Case(name, "UTF-8 file re-encoded as GBK", plain.encode("gbk"), 0)
        yield Case(name, "UTF-8 file as UTF-16 (BOM)", plain.encode("utf-16"), 0)
        yield Case(name, "UTF-8 file as UTF-16-LE, no BOM", plain.encode("utf-16-le"), 0)
        yield Case(name, "a second BOM", b"\xef\xbb\xbf" + plain.encode("utf-8-sig"), 0)
    yield Case(name, "CRLF line ends", re.sub(rb"\r?\n", b"\r\n", data), 0)
    yield Case(name, "CR-only line ends", re.sub(rb"\r?\n", b"\r", data), 0)
    damaged = LONG_ID.sub(lambda m: f"{float(m.group()):.5E}".replace("E+", "E+").encode(), data)
    if damaged != data:
        touched = sum(1 for row in rows[1:] if LONG_ID.search(row))
        yield Case(name, "19-digit ids as Excel's 4.77835E+18", damaged, touched)
    if codec != "gb18030":
        body = b"".join(rows[1:]).decode("utf-8", "replace").translate(FULL_WIDTH).encode("utf-8")
        yield Case(name, "full-width digits (１２３．４５)", rows[0] + body, None)
    yield Case(name, "random bytes appended", data + rng.randbytes(256), 1)
    if name == "canonical_example.csv" and huge_bytes:
        yield Case(name, f"one {huge_bytes // 1_000_000} MB cell", _huge_cell(rows, huge_bytes), 1)
        yield Case(
            name, f"{huge_bytes // 1_000_000} MB of blank lines after the rows", data + b"\n" * huge_bytes, 0
        )


def _nul_row(data: bytes, rows: list[bytes]) -> bytes:
    if len(rows) < 3:
        return data + b"\0"
    row = rows[2]
    middle = len(row) // 2
    rows = [*rows[:2], row[:middle] + b"\0" + row[middle:], *rows[3:]]
    return b"".join(rows)


def _huge_cell(rows: list[bytes], size: int) -> bytes:
    last = rows[-1].rstrip(b"\r\n")
    return b"".join(rows[:-1]) + last + b"x" * size + b"\n"


def adapter_cases(rng: random.Random) -> Iterator[Case]:
    """Random bytes and near-misses, read with every adapter by name (format=...)."""
    from apps.income.models import StatementImport

    for code in StatementImport.Format.values:
        if code in ("auto", "template"):
            continue
        yield Case(f"format={code}", "random bytes (4 KB)", rng.randbytes(4096), None, format=code)
        yield Case(f"format={code}", "random printable text", _random_text(rng), None, format=code)
        yield Case(f"format={code}", "a lone BOM", b"\xef\xbb\xbf", None, format=code)
    yield Case("format=auto", "random bytes (64 KB)", rng.randbytes(65536), None)
    yield Case("format=auto", "NUL bytes only", b"\0" * 1024, None)
    yield Case("format=auto", "a zip that is no workbook", b"PK\x03\x04" + rng.randbytes(512), None)


def _random_text(rng: random.Random) -> bytes:
    alphabet = "abc,;\t\"'\n\r 0123456789.-E+€¥，。１２"
    return "".join(rng.choice(alphabet) for _ in range(3000)).encode("utf-8")


# --- running a case -------------------------------------------------------------------------------


def _upload(agency: Any, actor: Any, name: str, data: bytes, fmt: str) -> Any:
    """The API's upload service: detection, the account and month an export needs, then the
    import run here through the pipeline's steps (the worker runs the same steps)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.common.exceptions import ApplicationError
    from apps.income.pipeline import statement_import_run
    from apps.income.uploads import statement_import_upload

    options: dict[str, str] = {}
    for _attempt in range(3):
        try:
            made = statement_import_upload(
                agency=agency,
                actor=actor,
                file=SimpleUploadedFile(name, data),
                format=fmt,
                enqueue=False,
                **options,
            )
            break
        except ApplicationError as error:
            if error.code == "statement_account_required" and "account" not in options:
                options["account"] = _account_for(agency, name)
            elif error.code == "statement_period_required" and "period" not in options:
                options["period"] = "2026-11"
            else:
                raise
    else:  # pragma: no cover - three refusals asking for options
        raise RuntimeError("the upload kept asking for options")
    return statement_import_run(statement_import=made)


def _account_for(agency: Any, name: str) -> str:
    from apps.creators.models import PlatformAccount

    platform = "youtube" if name.removeprefix("fuzz-").startswith(("yt_", "youtube")) else "douyin"
    account = PlatformAccount.objects.filter(
        creator__representations__agency=agency, platform=platform
    ).first()
    return account.account_id if account else "UCx9f3"


def _new_lines(statement_import: Any) -> list[tuple[str, int]]:
    from apps.income.models import IncomeLine

    rows = IncomeLine.objects.filter(statement_import=statement_import).exclude(status="duplicate")
    return list(rows.values_list("external_id", "gross_minor")[:20])


def run_case(
    case: Case, *, agency: Any, actor: Any, reference: dict[str, int]
) -> tuple[CaseOutcome, list[str], str]:
    """One case: its outcome, its findings, a traceback (or "")."""
    from apps.common.exceptions import ApplicationError

    label = f"{case.sample} · {case.mutation}"
    started = time.monotonic()
    findings: list[str] = []
    try:
        statement_import = _upload(agency, actor, f"fuzz-{case.sample}", case.data, case.format)
    except ApplicationError as error:
        message = str(error.message)
        if not message.strip():
            findings.append(f"{label}: refused with an empty message")
        return CaseOutcome(label, "refused", message[:160], seconds=time.monotonic() - started), findings, ""
    except Exception:
        tb = traceback.format_exc()
        findings.append(f"{label}: uncaught {tb.strip().splitlines()[-1][:200]}")
        return (
            CaseOutcome(label, "finding", "uncaught exception", seconds=time.monotonic() - started),
            findings,
            tb,
        )
    statement_import.refresh_from_db()
    outcome = CaseOutcome(
        label,
        statement_import.status,
        statement_import.message[:160],
        imported=statement_import.imported_count,
        duplicates=statement_import.duplicate_count,
        errors=statement_import.error_count,
        seconds=time.monotonic() - started,
    )
    if statement_import.status not in ("done", "failed"):
        findings.append(f"{label}: the import was left {statement_import.status}")
    if statement_import.status == "failed" and (
        not statement_import.message.strip() or "Traceback" in statement_import.message
    ):
        findings.append(f"{label}: failed without a clear message ({statement_import.message[:120]!r})")
    new = _new_lines(statement_import)
    if new and case.cut_row and len(new) == 1 and "~reissue:" in new[0][0]:
        # A row cut inside its amount (41.204 -> 41.2) reads as the platform's correction of that
        # line: nothing in a CSV tells a cut last row from a real one. A known limit, reported.
        outcome.detail = f"known limit: the cut last row recorded as a correction {new[0]}"
        outcome.verdict = "limit"
    elif new:
        findings.append(f"{label}: {len(new)} new line(s) from a damaged copy: {new[:3]}")
    if statement_import.status == "done" and case.touched_rows is not None and not new:
        expected = reference.get(case.sample, 0) - case.touched_rows
        accounted = statement_import.duplicate_count + statement_import.error_count
        accounted += statement_import.exception_count + statement_import.adjustment_count
        if expected > 0 and accounted < expected:
            findings.append(
                f"{label}: {accounted} rows accounted for (duplicates, errors), {expected} expected:"
                " rows the damage did not touch were lost"
            )
    return outcome, findings, ""


def run(
    *, agency: Any, actor: Any, seed: int, huge_bytes: int, limit: Callable[[int], bool] | None = None
) -> FuzzReport:
    """Every sample clean (twice: the second is the reference of what a copy gives), then every
    damaged copy and every adapter's random input."""
    report = FuzzReport()
    started = time.monotonic()
    rng = random.Random(seed)
    reference: dict[str, int] = {}
    for path in SAMPLES:
        try:
            first = _upload(agency, actor, f"fuzz-{path.name}", path.read_bytes(), "auto")
            again = _upload(agency, actor, f"fuzz-{path.name}", path.read_bytes(), "auto")
        except Exception as error:
            report.findings.append(f"{path.name}: the clean sample failed to import: {error!r}"[:300])
            report.tracebacks.append(traceback.format_exc())
            continue
        reference[path.name] = again.duplicate_count + again.exception_count + again.adjustment_count
        report.baselines[path.name] = (
            f"{first.status}: {first.imported_count} imported, {first.duplicate_count} duplicates,"
            f" {first.error_count} errors; again: {again.duplicate_count} duplicates, {again.imported_count} new"
        )
        if again.imported_count:
            report.findings.append(
                f"{path.name}: the same file again imported {again.imported_count} new lines"
            )
    cases = [c for path in SAMPLES for c in mutations(path, rng, huge_bytes=huge_bytes)]
    cases += list(adapter_cases(rng))
    for number, case in enumerate(cases):
        if limit is not None and not limit(number):
            continue
        outcome, findings, tb = run_case(case, agency=agency, actor=actor, reference=reference)
        report.outcomes.append(outcome)
        report.findings += findings
        if tb:
            report.tracebacks.append(f"{outcome.case}\n{tb}")
    report.seconds = time.monotonic() - started
    return report
