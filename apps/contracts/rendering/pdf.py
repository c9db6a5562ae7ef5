"""The signed PDF: the frozen document plus a certificate page, rendered by WeasyPrint.

The document hash travels inside the PDF's metadata (fenrundocumentsha256), so a PDF names
the text it claims to be; the SHA-256 of the PDF bytes is stored when the PDF is first made,
and `contract_pdf_check` compares an uploaded file with it byte for byte.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.template.loader import render_to_string
from django.utils import translation

if TYPE_CHECKING:
    from apps.contracts.models import ContractSignature, ContractVersion

# WeasyPrint lowercases <meta> names; the PDF Info keys are these exact strings.
METADATA_DOCUMENT_HASH = "fenrundocumentsha256"
METADATA_VERSION = "fenruncontractversion"


def render_signed_pdf(version: ContractVersion, signatures: list[ContractSignature]) -> bytes:
    from weasyprint import HTML

    with translation.override(version.language):
        html = render_to_string(
            "contracts/pdf.html",
            {
                "version": version,
                "contract": version.contract,
                "signatures": signatures,
                "document_html": version.document_html,
                "metadata_hash": METADATA_DOCUMENT_HASH,
                "metadata_version": METADATA_VERSION,
                "language": version.language,
            },
        )
    return HTML(string=html).write_pdf(custom_metadata=True)
