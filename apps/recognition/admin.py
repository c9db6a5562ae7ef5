"""Staff audit splits here, read-only (the design card: "staff audit everything through Django
admin"): from an income line to its allocation, its journal entry and postings, the contract
version and the rule set snapshot it was split under, and the explanation as sentences; from a
journal entry back to the lines it covers. Income lines and allocations are registered here, not
in income's admin, because only recognition knows how a line reached the ledger (income sits
below it). Nothing is added, changed or deleted: corrections are new lines and reversing entries.

Closed months are also read here; a month closes only through `period_close` (page, API or
manage.py), which posts its guarantee top-ups in the same transaction: a deleted row would reopen
a month whose top-ups are already posted. ClosedPeriod is income's model, registered beside the
service that writes it."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from apps.common.admin import ReadOnlyAdmin, admin_link
from apps.common.money import format_money
from apps.income.models import ClosedPeriod, IncomeLine
from apps.ledger import admin as ledger_admin  # registered first: JournalEntry is re-registered below
from apps.ledger.models import JournalEntry
from apps.recognition.models import LineAllocation, RuleSetSnapshot
from apps.recognition.selectors import entry_line_ids, line_split


@admin.register(ClosedPeriod)
class ClosedPeriodAdmin(ReadOnlyAdmin):
    list_display = ("agency", "period", "closed_at", "closed_by", "top_up_count")
    list_filter = ("agency",)
    search_fields = ("period", "agency__name")
    list_select_related = ("agency", "closed_by")
    readonly_fields = ("agency", "period", "closed_at", "closed_by", "top_up_count")


def _allocation(line: IncomeLine) -> LineAllocation | None:
    try:
        return line.allocation  # type: ignore[attr-defined, no-any-return]
    except LineAllocation.DoesNotExist:
        return None


@admin.register(IncomeLine)
class IncomeLineAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "external_id",
        "agency",
        "creator",
        "platform",
        "source",
        "gross",
        "occurred_at",
        "status",
    )
    list_filter = ("status", "platform", "source", "agency")
    search_fields = ("=public_id", "=external_id", "=order_ref", "account_id")
    list_select_related = ("agency", "creator")
    date_hierarchy = None  # a month drill-down would run a DISTINCT over every line
    # At a million lines the full COUNT(*) beside a filtered count is the page's slowest query.
    show_full_result_count = False
    fieldsets = [
        (
            _("Line"),
            {
                "fields": [
                    "public_id",
                    "agency",
                    "creator",
                    "platform_account",
                    "platform",
                    "account_id",
                    "external_id",
                    "source",
                    "gross",
                    "occurred_at",
                    "order_ref",
                    "refund_of_link",
                    "adjusts_link",
                    "description",
                ]
            },
        ),
        (_("Import"), {"fields": ["import_link", "row_number", "created_at"]}),
        (
            _("State"),
            {"fields": ["status", "exception_reason", "exception_detail", "dismiss_reason", "resolved_by"]},
        ),
        (
            _("Split"),
            {
                "fields": [
                    "allocation_link",
                    "entry_link",
                    "postings_link",
                    "contract_version_link",
                    "rule_set_link",
                    "engine_version",
                    "explanation",
                ]
            },
        ),
    ]
    readonly_fields = flatten_fieldsets(fieldsets)

    @admin.display(description=_("gross"))
    def gross(self, line: IncomeLine) -> str:
        return format_money(line.gross_minor, line.currency)

    @admin.display(description=_("refund of"))
    def refund_of_link(self, line: IncomeLine) -> str:
        return admin_link(line.refund_of)

    @admin.display(description=_("adjusts"))
    def adjusts_link(self, line: IncomeLine) -> str:
        return admin_link(line.adjusts)

    @admin.display(description=_("statement import"))
    def import_link(self, line: IncomeLine) -> str:
        return admin_link(line.statement_import)

    @admin.display(description=_("allocation"))
    def allocation_link(self, line: IncomeLine) -> str:
        return admin_link(_allocation(line))

    @admin.display(description=_("journal entry"))
    def entry_link(self, line: IncomeLine) -> str:
        allocation = _allocation(line)
        return admin_link(allocation.entry if allocation else None)

    @admin.display(description=_("postings"))
    def postings_link(self, line: IncomeLine) -> str:
        allocation = _allocation(line)
        if allocation is None:
            return "—"
        url = reverse("admin:ledger_posting_changelist") + f"?entry__id__exact={allocation.entry_id}"
        return format_html('<a href="{}">{}</a>', url, _("the entry's postings"))

    @admin.display(description=_("contract version"))
    def contract_version_link(self, line: IncomeLine) -> str:
        allocation = _allocation(line)
        return admin_link(allocation.contract_version if allocation else None)

    @admin.display(description=_("rule set snapshot"))
    def rule_set_link(self, line: IncomeLine) -> str:
        allocation = _allocation(line)
        return admin_link(allocation.rule_set if allocation else None)

    @admin.display(description=_("engine version"))
    def engine_version(self, line: IncomeLine) -> str:
        allocation = _allocation(line)
        return str(allocation.engine_version) if allocation else "—"

    @admin.display(description=_("explanation"))
    def explanation(self, line: IncomeLine) -> str:
        # Recomputed from the stored inputs, as the creator's page shows it: the sentences, not
        # the trace's JSON, and whether the recomputation matches what is stored.
        split = line_split(line=line)
        if split is None:
            return str(_("Not recognised yet."))
        check = _("recomputed, matches the stored allocation") if split["matches_stored"] else _("MISMATCH")
        proof = (
            _("Merkle proof verified") if split["proof"]["verified"] else _("Merkle proof does NOT verify")
        )
        return format_html(
            "<p>{}</p><ol>{}</ol><p>{} · {}</p>",
            split["summary"],
            format_html_join("", "<li>{}</li>", ((sentence,) for sentence in split["steps"])),
            check,
            proof,
        )


@admin.register(LineAllocation)
class LineAllocationAdmin(ReadOnlyAdmin):
    list_display = ("line_id", "agency", "creator", "contract_version_id", "ordinal", "entry_id", "gross")
    list_filter = ("agency",)
    show_full_result_count = False
    fields = (
        "line_link",
        "agency",
        "creator",
        "contract_version_link",
        "ordinal",
        "entry_link",
        "rule_set_link",
        "engine_version",
        "rule_index",
        "gross",
        "amounts_minor",
        "expenses_claimed_minor",
        "advance_before_minor",
        "original_gross_minor",
        "original_currency",
        "fx_rate",
        "fx_date",
        "fx_source",
        "effective_date",
    )
    readonly_fields = fields
    list_select_related = ("agency", "creator")

    @admin.display(description=_("gross"))
    def gross(self, allocation: LineAllocation) -> str:
        return format_money(allocation.gross_minor, allocation.currency)

    @admin.display(description=_("income line"))
    def line_link(self, allocation: LineAllocation) -> str:
        return admin_link(allocation.line)

    @admin.display(description=_("contract version"))
    def contract_version_link(self, allocation: LineAllocation) -> str:
        return admin_link(allocation.contract_version)

    @admin.display(description=_("journal entry"))
    def entry_link(self, allocation: LineAllocation) -> str:
        return admin_link(allocation.entry)

    @admin.display(description=_("rule set snapshot"))
    def rule_set_link(self, allocation: LineAllocation) -> str:
        return admin_link(allocation.rule_set)


@admin.register(RuleSetSnapshot)
class RuleSetSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("sha256", "created_at")
    search_fields = ("=sha256",)
    fields = ("sha256", "document", "created_at")
    readonly_fields = fields


admin.site.unregister(JournalEntry)


@admin.register(JournalEntry)
class JournalEntryAuditAdmin(ledger_admin.JournalEntryAdmin):
    """The ledger's own entry admin, plus the lines the entry covers (the ledger knows no lines)."""

    fieldsets = [*ledger_admin.JournalEntryAdmin.fieldsets, (_("Income lines"), {"fields": ["lines"]})]
    readonly_fields = [*ledger_admin.JournalEntryAdmin.readonly_fields, "lines"]

    @admin.display(description=_("lines covered"))
    def lines(self, entry: JournalEntry) -> str:
        ids, count = entry_line_ids(entry_id=entry.pk)
        if not ids:
            return "—"
        lines = IncomeLine.objects.filter(pk__in=ids).only("pk", "public_id").in_bulk()
        links = format_html_join(
            ", ", "{}", ((admin_link(lines[pk], str(lines[pk].public_id)),) for pk in ids if pk in lines)
        )
        more = (
            ""
            if count <= len(ids)
            else format_html(" … ({})", _("%(count)s lines in all") % {"count": count})
        )
        return format_html("{}{}", links, more)
