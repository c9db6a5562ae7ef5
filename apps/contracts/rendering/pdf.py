"""The signed PDF: the frozen document plus a certificate page, rendered by WeasyPrint.

The document hash travels inside the PDF's metadata (fenrundocumentsha256), so a PDF names
the text it claims to be; the SHA-256 of the PDF bytes is stored when the PDF is first made,
and `contract_pdf_check` compares an uploaded file with it byte for byte.

Every glyph comes from the font shipped beside this module (fonts/: Noto Sans CJK SC, subset to
GB2312 and the project's own text, OFL), declared with @font-face under a family name no system
font has, so a PDF renders, and hashes, the same on any server, with or without CJK system
fonts. WeasyPrint may fetch nothing else: no system stylesheet, image or remote URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string
from django.utils import translation

if TYPE_CHECKING:
    from apps.contracts.models import ContractSignature, ContractVersion

# WeasyPrint lowercases <meta> names; the PDF Info keys are these exact strings.
METADATA_DOCUMENT_HASH = "fenrundocumentsha256"
METADATA_VERSION = "fenruncontractversion"

FONT_DIRECTORY = Path(__file__).resolve().parent / "fonts"
# The PDF stylesheet's family (contracts/pdf.html) and its faces, font-weight 400 and 700.
FONT_FAMILY = "Fenrun Sans SC"
FONT_FILES = {
    "regular": FONT_DIRECTORY / "NotoSansCJKsc-Regular-subset.otf",
    "bold": FONT_DIRECTORY / "NotoSansCJKsc-Bold-subset.otf",
}


def _url_fetcher() -> Any:
    """A fetcher that serves the shipped fonts and refuses every other URL."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    allowed = {path.as_uri(): path for path in FONT_FILES.values()}

    class ShippedFontsOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            path = allowed.get(url)
            if path is None:
                raise ValueError(f"contract PDFs load only the shipped fonts, not {url}")
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": "font/otf"})

    return ShippedFontsOnly()


def render_signed_pdf(version: ContractVersion, signatures: list[ContractSignature]) -> bytes:
    from weasyprint import HTML

    missing = [str(path) for path in FONT_FILES.values() if not path.is_file()]
    if missing:  # a broken checkout: never issue a PDF whose Chinese text would be empty boxes
        raise FileNotFoundError(f"the contract PDF fonts are missing: {', '.join(missing)}")
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
                "fonts": {face: path.as_uri() for face, path in FONT_FILES.items()},
            },
        )
    return HTML(string=html, url_fetcher=_url_fetcher()).write_pdf(custom_metadata=True)
