"""A published statement as a PDF: English and 简体中文 side by side, rendered by WeasyPrint with
the CJK font shipped in apps/contracts/rendering/fonts (no other font or URL is loaded), so the
PDF renders the same on every server.

What the printed hash covers: a file cannot contain its own SHA-256, so the PDF carries the
SHA-256 of the statement's canonical content (apps.statements.selectors.statement_content: the
number, parties, month, every figure, every line and its share, each payout's withholding
computation, the due dates and the ledger head), printed on the page and in the PDF metadata (`fenrunstatementsha256`). The SHA-256 of the
PDF file itself is stored when it is rendered and shown on the statement's page and in the API,
so a downloaded copy can be checked byte for byte as well.

The labels are bilingual in the document itself (LABELS), not taken from the interface's
translations: the PDF is the same whichever language the person who publishes it reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.template.loader import render_to_string

from apps.common.money import format_money
from apps.contracts.rendering.pdf import FONT_FAMILY, FONT_FILES
from apps.statements.models import Statement

if TYPE_CHECKING:
    from apps.statements.selectors import StatementLine, StatementWithholding, WithholdingFigure

METADATA_CONTENT_HASH = "fenrunstatementsha256"
METADATA_NUMBER = "fenrunstatementnumber"

LABELS: dict[str, tuple[str, str]] = {
    "title": ("Creator statement", "创作者结算单"),
    "number": ("Statement No.", "结算单编号"),
    "period": ("Month", "结算月份"),
    "agency": ("Agency", "机构"),
    "creator": ("Creator", "创作者"),
    "currency": ("Currency", "币种"),
    "corrects": ("Corrects statement No.", "更正结算单编号"),
    "opening_minor": ("Opening balance", "期初余额"),
    "gross_minor": ("Income (gross)", "收入总额"),
    "deductions_minor": ("Deductions", "扣除项"),
    "expenses_minor": ("Approved expenses", "已批准费用"),
    "others_share_minor": ("Agency's and other parties' share", "机构及其他方分成"),
    "recouped_minor": ("Advance recoupment", "预付款回收"),
    "income_share_minor": ("Your share of income", "您的收入分成"),
    "guarantee_top_up_minor": ("Minimum guarantee top-up", "保底补足"),
    "late_interest_minor": ("Late payment interest posted", "已入账的逾期付款利息"),
    "tax_minor": ("Tax withheld", "代扣税款"),
    "payouts_minor": ("Payouts", "已付款项"),
    "adjustments_minor": ("Other adjustments", "其他调整"),
    "closing_minor": ("Closing balance", "期末余额"),
    "statement_due": ("Statement due", "结算单出具期限"),
    "payment_due": ("Payment due", "付款期限"),
    "late_interest": ("Late payment interest (% per year)", "逾期付款利息（年利率%）"),
    "lines": ("Income lines", "收入明细"),
    "posted_on": ("Posted", "入账日期"),
    "line": ("Line", "明细"),
    "platform": ("Platform", "平台"),
    "description": ("Description", "说明"),
    "line_gross": ("Gross", "金额"),
    "share": ("Your share", "您的分成"),
    "difference": ("Difference from the corrected statement", "与被更正结算单的差额"),
    "content_hash": ("SHA-256 of the statement's content", "结算单内容的SHA-256"),
    "ledger_head": ("Ledger position when published", "发布时的账本位置"),
    "published": ("Published", "发布时间"),
    "no_lines": ("No income lines this month.", "本月无收入明细。"),
    "withholding": ("Tax withheld: the computation of each payout", "代扣税款：每笔付款的计算过程"),
    "payout": ("Payout", "付款"),
    "paid_on": ("Payment day", "付款日"),
    "method": ("Withholding method", "预扣方式"),
    "payout_failed": (
        "This payout failed: its money and its tax went back to the creator's balance.",
        "该笔付款失败：款项及税款已退回创作者余额。",
    ),
    "check": (
        "Each figure is a sum of ledger postings; open the statement in Fenrun to see each line's explanation.",
        "每个金额均为账本分录之和；在分润中打开结算单可查看每条明细的分成说明。",
    ),
}
# The withholding computation's figures (apps.statements.selectors.WITHHOLDING_FIGURES), worded
# as docs/withholding.md words them.
WITHHOLDING_LABELS: dict[str, tuple[str, str]] = {
    "month": ("Tax month", "所属月份"),
    "payout_gross": ("This payout, before tax", "本次支付金额（税前）"),
    "month_paid_before": ("Paid earlier in the month", "本月此前已支付"),
    "gross": ("Income of the month", "本月收入合计"),
    "expense": ("Expense deduction", "减除费用"),
    "taxable": ("Taxable income", "应纳税所得额"),
    "months_counted": ("Months paid this year", "本年已支付月份数"),
    "ytd_income": ("Income, year to date", "累计收入"),
    "ytd_expense": ("Expense deduction, year to date (20 %)", "累计减除费用（20%）"),
    "ytd_allowance": ("Basic deduction, year to date (5,000.00 a month)", "累计基本减除费用（每月5,000元）"),
    "ytd_taxable": ("Taxable income, year to date", "累计应纳税所得额"),
    "rate": ("Rate", "税率"),
    "quick_deduction": ("Quick deduction", "速算扣除数"),
    "ytd_tax": ("Tax, year to date", "累计应预扣税额"),
    "tax": ("Tax of the month", "本月应预扣税额"),
    "ytd_withheld": ("Withheld in the year, this month included", "本年累计已预扣税额（含本月）"),
    "month_withheld_before": ("Withheld earlier in the month", "本月此前已预扣税额"),
    "payout_tax": ("Tax withheld on this payout", "本次预扣税额"),
}
METHOD_LABELS: dict[str, tuple[str, str]] = {
    "none": ("None: the creator invoices", "不预扣（开具发票结算）"),
    "per_payment": ("Per payment (labour remuneration)", "按次预扣（劳务报酬所得）"),
    "cumulative": ("Cumulative (year to date)", "累计预扣法"),
}
FIGURE_ORDER = Statement.FIGURES  # the page's and the PDF's order


# The stylesheet, given to WeasyPrint beside the HTML (pages keep no inline style): the shipped
# font under a name no system font has, so the PDF is the same on any server.
_STYLESHEET = """
  @font-face {{ font-family: "{family}"; font-weight: 400; font-style: normal; src: url("{regular}") format("opentype"); }}
  @font-face {{ font-family: "{family}"; font-weight: 700; font-style: normal; src: url("{bold}") format("opentype"); }}
  @page {{ size: A4; margin: 16mm 14mm; @bottom-right {{ content: counter(page) " / " counter(pages); font-family: "{family}", sans-serif; font-size: 8pt; }} }}
  body {{ font-family: "{family}", sans-serif; font-size: 9.5pt; line-height: 1.4; }}
  h1 {{ font-size: 15pt; margin: 0 0 .4em; }} h2 {{ font-size: 11.5pt; margin: 1.1em 0 .3em; }}
  table {{ border-collapse: collapse; width: 100%; margin: .3em 0; }}
  th, td {{ border: 1px solid #999; padding: 2px 5px; text-align: left; vertical-align: top; }}
  .money {{ text-align: right; white-space: nowrap; }}
  .total td {{ font-weight: 700; }}
  .zh {{ color: #333; }}
  .hash {{ word-break: break-all; font-size: 8.5pt; }}
  table.withholding {{ page-break-inside: avoid; }}
"""


def _url_fetcher() -> Any:
    """Serves the shipped fonts and refuses every other URL."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    allowed = {path.as_uri(): path for path in FONT_FILES.values()}

    class ShippedFontsOnly(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            path = allowed.get(url)
            if path is None:
                raise ValueError(f"statement PDFs load only the shipped fonts, not {url}")
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": "font/otf"})

    return ShippedFontsOnly()


def _figure_text(figure: WithholdingFigure, currency: str) -> str:
    if figure.minor is not None:
        return format_money(figure.minor, currency)
    if figure.kind == "percent":
        return f"{figure.value} %"
    return figure.value


def _withholding_rows(withholdings: list[StatementWithholding]) -> list[dict[str, Any]]:
    return [
        {
            "public_id": str(item.item_public_id),
            "paid_on": item.paid_on.isoformat(),
            "method": {"en": METHOD_LABELS[item.method][0], "zh": METHOD_LABELS[item.method][1]},
            "is_failed": item.is_failed,
            "figures": [
                {
                    "en": WITHHOLDING_LABELS[figure.name][0],
                    "zh": WITHHOLDING_LABELS[figure.name][1],
                    "value": _figure_text(figure, item.currency),
                    "is_total": figure.name == "payout_tax",
                }
                for figure in item.figures
            ],
        }
        for item in withholdings
    ]


def render_statement_pdf(
    statement: Statement, lines: list[StatementLine], withholdings: list[StatementWithholding]
) -> bytes:
    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from apps.statements.selectors import statement_difference

    missing = [str(path) for path in FONT_FILES.values() if not path.is_file()]
    if missing:  # never issue a PDF whose Chinese text would be empty boxes
        raise FileNotFoundError(f"the PDF fonts are missing: {', '.join(missing)}")
    currency = statement.currency
    difference = statement_difference(statement=statement)
    figures = [
        {
            "english": LABELS[name][0],
            "chinese": LABELS[name][1],
            "amount": format_money(getattr(statement, name), currency),
            "difference": format_money(difference[name], currency) if difference else "",
            "is_total": name in ("income_share_minor", "closing_minor"),
        }
        for name in FIGURE_ORDER
    ]
    html = render_to_string(
        "statements/pdf.html",
        {
            "statement": statement,
            "labels": {key: {"en": pair[0], "zh": pair[1]} for key, pair in LABELS.items()},
            "figures": figures,
            "has_difference": difference is not None,
            "lines": [
                {
                    "external_id": line.external_id,
                    "posted_on": line.posted_on.isoformat(),
                    "platform": line.platform,
                    "description": line.description,
                    "gross": format_money(line.gross_minor, line.line_currency),
                    "share": format_money(line.creator_share_minor, currency),
                }
                for line in lines
            ],
            "withholdings": _withholding_rows(withholdings),
            "metadata_hash": METADATA_CONTENT_HASH,
            "metadata_number": METADATA_NUMBER,
        },
    )
    fetcher = _url_fetcher()
    # @font-face in a stylesheet given beside the HTML loads only through a FontConfiguration.
    font_config = FontConfiguration()
    stylesheet = CSS(
        string=_STYLESHEET.format(
            family=FONT_FAMILY, regular=FONT_FILES["regular"].as_uri(), bold=FONT_FILES["bold"].as_uri()
        ),
        url_fetcher=fetcher,
        font_config=font_config,
    )
    return HTML(string=html, url_fetcher=fetcher).write_pdf(
        stylesheets=[stylesheet], font_config=font_config, custom_metadata=True
    )
