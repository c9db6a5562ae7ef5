from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "apps.deals"
    label = "deals"
    verbose_name = "Brand deals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Recognition imports nothing of deals: deals gives it the book of approved expenses
        # that a batch's payment lines carry into the split.
        from apps.deals.expenses import DealExpenseBook
        from apps.deals.selectors import deal_filter_choices, deal_line_condition
        from apps.deals.services import deal_reconcile_lines
        from apps.income.hooks import register_deal_readers, register_reconciler
        from apps.recognition.batch import register_expense_book

        register_expense_book(DealExpenseBook.for_lines)
        # Income imports nothing of deals either: deals matches its brand-deal payment lines,
        # and gives the income list its brand-deal filter.
        register_reconciler(deal_reconcile_lines)
        register_deal_readers(choices=deal_filter_choices, lines=deal_line_condition)
