from django.apps import AppConfig


class IncomeConfig(AppConfig):
    name = "apps.income"
    label = "income"
    verbose_name = "Income"
