from django.apps import AppConfig


class SplitsConfig(AppConfig):
    name = "apps.splits"
    label = "splits"
    verbose_name = "Revenue splits"
