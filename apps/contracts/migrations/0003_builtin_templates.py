from django.db import migrations


def install(apps, schema_editor):
    from apps.contracts.builtin_templates import BUILTIN_TEMPLATES

    ContractTemplate = apps.get_model("contracts", "ContractTemplate")
    for template in BUILTIN_TEMPLATES:
        ContractTemplate.objects.update_or_create(
            agency=None,
            key=template["key"],
            defaults={field: value for field, value in template.items() if field != "key"},
        )


class Migration(migrations.Migration):
    dependencies = [("contracts", "0002_initial")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
