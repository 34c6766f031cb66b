"""The local geocoder's search on SQLite (participation/geocoding.py): an FTS5 table with the trigram tokenizer
(SQLite 3.34+) over Address.search_text, whose index serves `LIKE '%deynoot%'` and `LIKE 'gevers deyn%'` as
pg_trgm's GIN index and the "C" B-tree do on PostgreSQL. An external-content table (the text stays in
participation_address only), kept in sync by triggers, so every write (load_addresses' upserts, the admin,
deletes) updates it. PostgreSQL: nothing (migrations 0004 and 0008). An SQLite without FTS5 or the trigram
tokenizer gets nothing either, and the search scans, as before.

A later migration that makes Django rebuild participation_address on SQLite (altering a column) drops the
triggers with the old table: it must run `create` again (tests/participation/test_address_search_sqlite.py
checks that the triggers exist after every migration)."""
from django.db import migrations

TABLE = "participation_address_fts"
TRIGGERS = {
    "participation_address_fts_insert": f"""
        CREATE TRIGGER IF NOT EXISTS participation_address_fts_insert AFTER INSERT ON participation_address BEGIN
            INSERT INTO {TABLE}(rowid, search_text) VALUES (new.id, new.search_text);
        END""",
    "participation_address_fts_delete": f"""
        CREATE TRIGGER IF NOT EXISTS participation_address_fts_delete AFTER DELETE ON participation_address BEGIN
            INSERT INTO {TABLE}({TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        END""",
    "participation_address_fts_update": f"""
        CREATE TRIGGER IF NOT EXISTS participation_address_fts_update AFTER UPDATE OF search_text
        ON participation_address BEGIN
            INSERT INTO {TABLE}({TABLE}, rowid, search_text) VALUES ('delete', old.id, old.search_text);
            INSERT INTO {TABLE}(rowid, search_text) VALUES (new.id, new.search_text);
        END""",
}


def fts5_trigram_available(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version(), sqlite_compileoption_used('ENABLE_FTS5')")
        version, fts5 = cursor.fetchone()
    return bool(fts5) and tuple(int(part) for part in version.split(".")[:2]) >= (3, 34)


def create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "sqlite" or not fts5_trigram_available(connection):
        return
    schema_editor.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {TABLE} USING fts5(search_text, "
                          f"content='participation_address', content_rowid='id', tokenize='trigram')")
    for statement in TRIGGERS.values():
        schema_editor.execute(statement)
    schema_editor.execute(f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')")  # the addresses already there


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):

    dependencies = [
        ("participation", "0010_category_questions"),
    ]

    operations = [
        migrations.RunPython(create, drop),
    ]
