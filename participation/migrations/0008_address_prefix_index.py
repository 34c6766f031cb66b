"""The local geocoder's prefix search (`search_text COLLATE "C" LIKE 'gevers deyn%' ORDER BY ... LIMIT 8`,
participation/geocoding.py) as a range scan: a B-tree on the column in byte order ("C") on PostgreSQL, which
serves the LIKE and the ORDER BY whatever the database's collation. SQLite: none needed."""
from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE INDEX IF NOT EXISTS address_search_prefix "
                              "ON participation_address ((search_text COLLATE \"C\"))")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS address_search_prefix")


class Migration(migrations.Migration):

    dependencies = [
        ("participation", "0007_report_nearest_address"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
