"""Trigram indexes for the local geocoder's address search, on PostgreSQL only.

When the typed text is not the start of an address, search (participation/geocoding.py) filters
`search_text LIKE '%word%'` for every word typed: a trigram GIN index on the column serves all of them in one
bitmap scan. SQLite (local development, a few hundred addresses) needs none.
"""
from django.db import migrations

TRIGRAM_INDEXES = {
    "address_search_trgm": "search_text",
}


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON participation_address USING gin (({expression}) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("participation", "0005_addresses_categories"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]
