from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImportmapsConfig(AppConfig):
    name = "apps.importmaps"
    label = "importmaps"
    verbose_name = _("Import templates")

    def ready(self) -> None:
        # Income imports nothing above it: the template reader and the import page's panel are
        # handed to it here (apps/income/hooks.py, apps/income/importers/detect.py).
        from apps.importmaps import reader

        reader.register()
