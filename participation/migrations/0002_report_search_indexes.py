"""Trigram indexes for text search on reports, on PostgreSQL only (carried over from the migrations before
the reset of issue #15).

Text search on reports (the public list, the API's `q`, "already reported?") filters with icontains,
which PostgreSQL runs as UPPER(col::text) LIKE UPPER('%word%'). Trigram GIN indexes on exactly that
expression serve it. SQLite (local development) has no such index and needs none.
"""
from django.db import migrations

TRIGRAM_INDEXES = {
    "report_title_trgm": "title",
    "report_description_trgm": "description",
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON participation_report USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("participation", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]
