from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Installed only so that `manage.py seed_demo` is found: the demo has no models and no app
    imports it (import-linter's contract "Nothing imports the demo")."""

    name = "apps.demo"
    label = "demo"
    verbose_name = "Demo world"
