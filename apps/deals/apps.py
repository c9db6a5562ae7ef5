from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "apps.deals"
    label = "deals"
    verbose_name = "Brand deals"
    default_auto_field = "django.db.models.BigAutoField"
