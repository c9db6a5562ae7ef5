"""The signed PDF: Chinese text survives WeasyPrint, the certificate names the hash, the check works."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader, PdfWriter
from rest_framework.test import APIClient

from apps.contracts.rendering.pdf import METADATA_DOCUMENT_HASH
from apps.contracts.selectors import contract_pdf_check
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
    # Made once: a second call returns the same stored file.
    assert contract_pdf_ensure(version=version).pdf_sha256 == version.pdf_sha256


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
