"""Seed the default gate criteria (pilots/criteria.py)."""
from django.db import migrations

from pilots.criteria import ensure_default_criteria


def add_defaults(apps, schema_editor):
    ensure_default_criteria(apps.get_model("pilots", "GateCriterion"))


class Migration(migrations.Migration):
    dependencies = [("pilots", "0001_initial")]

    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
