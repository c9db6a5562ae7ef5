"""The signed PDF: Chinese text survives WeasyPrint, the certificate names the hash, the check works.

The PDF must render with the font shipped in the repository, on a machine without any CJK system
font (this suite's CI machine has none: `.ci/run` installs no fonts).
"""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader, PdfWriter
from rest_framework.test import APIClient

from apps.contracts.rendering.pdf import FONT_FAMILY, METADATA_DOCUMENT_HASH, render_signed_pdf
from apps.contracts.selectors import MAX_PDF_BYTES, MAX_PDF_PAGES, contract_pdf_check
from apps.contracts.services import contract_pdf_ensure
from tests.conftest import api_as
from tests.contracts.conftest import active_contract, builtin, tiered_rules

pytestmark = pytest.mark.django_db


def _chinese_contract(world):
    rules = tiered_rules()
    rules["rules"][0]["label"] = "品牌合作"
    return active_contract(world, template=builtin("exclusive-management-zh"), rule_set=rules)


def test_signed_pdf_holds_chinese_text_certificate_and_hash(world) -> None:
    version = contract_pdf_ensure(version=_chinese_contract(world))
    pdf_bytes = version.pdf.open("rb").read()
    reader = PdfReader(io.BytesIO(pdf_bytes))
    text = "\n".join(page.extract_text() for page in reader.pages)

    assert "品牌合作" in text
    assert "独家经纪" in text
    assert version.document_sha256 in text.replace("\n", "")  # the certificate page
    assert world.manager_a.email in text
    assert reader.metadata[f"/{METADATA_DOCUMENT_HASH}"] == version.document_sha256
    # About 130 KB and 4 pages: the public check's limits (10 MB, 1,000 pages) are far above it.
    assert len(pdf_bytes) < MAX_PDF_BYTES // 20 and len(reader.pages) < MAX_PDF_PAGES // 20
    # Made once: a second call returns the same stored file.
    assert contract_pdf_ensure(version=version).pdf_sha256 == version.pdf_sha256


def _embedded_fonts(reader: PdfReader) -> dict[str, bool]:
    """BaseFont name (without the subset tag) -> whether the PDF carries the font program itself."""
    fonts: dict[str, bool] = {}
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:  # Type0: the CID font holds it
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            name = str(font["/BaseFont"]).lstrip("/").split("+", 1)[-1]
            fonts[name] = any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
    return fonts


def test_signed_pdf_embeds_the_shipped_font_only_and_renders_the_same_every_time(world, caplog) -> None:
    version = contract_pdf_ensure(version=_chinese_contract(world))
    reader = PdfReader(version.pdf.open("rb"))

    fonts = _embedded_fonts(reader)
    # Only the repository's font (regular for text, bold for headings), embedded: no system font.
    assert len(fonts) == 2 and all(name.startswith(FONT_FAMILY.replace(" ", "-")) for name in fonts), fonts
    assert all(fonts.values()), fonts
    assert "品牌合作" in "".join(page.extract_text() for page in reader.pages)
    assert ".notdef glyph" not in caplog.text  # no character rendered as an empty box
    # Deterministic: the same version and signatures give the same bytes (and so the same hash).
    signatures = list(version.signatures.order_by("signed_at"))
    assert render_signed_pdf(version, signatures) == render_signed_pdf(version, signatures)


def test_pdf_check_matches_the_issued_file_and_not_a_modified_one(world) -> None:
    version = active_contract(world)
    response = api_as(world.creator_a.user).get(f"/api/v1/contracts/versions/{version.public_id}/pdf/")
    assert response.status_code == 200
    pdf_bytes = b"".join(response.streaming_content)

    anyone = APIClient()
    url = "/api/v1/contracts/check-pdf/"
    good = anyone.post(url, {"file": SimpleUploadedFile("c.pdf", pdf_bytes)}, format="multipart").json()
    assert good["matches"] is True
    assert good["version"] == 1 and good["document_sha256"] == version.document_sha256

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes)))
    writer.add_metadata({"/Subject": "edited"})
    edited = io.BytesIO()
    writer.write(edited)
    bad = anyone.post(
        url, {"file": SimpleUploadedFile("c.pdf", edited.getvalue())}, format="multipart"
    ).json()
    assert bad["matches"] is False
    assert "modified" in bad["reason"]
    assert contract_pdf_check(pdf_bytes=b"not a pdf").matches is False
