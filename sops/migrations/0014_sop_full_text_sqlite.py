from django.db import migrations

# SQLite keeps a full-text index of every SOP's title, outcome and body: an FTS5 table over
# sops_sop (external content: it holds the index, not a copy of the text), kept by triggers on
# every insert, edit and delete, whatever writes them (forms, admin, import, API, worker, bulk
# updates, cascades). Searching 20,000 SOPs with LIKE read their 6 MB of text each time (25 ms a
# search); the index answers from the words. opsmodel.front.search queries it.
#
# A later migration that rebuilds sops_sop on SQLite (Django copies the table into a new one)
# drops these triggers with the old table: tests/test_search.py's tests of the index following
# edits fail then, and the migration must create the triggers again. PostgreSQL has its own
# index (0013); nothing is done there.
CREATE = [
    """
    CREATE VIRTUAL TABLE IF NOT EXISTS sops_sop_fts USING fts5(
        title, outcome, body, content='sops_sop', content_rowid='id'
    )
    """,
    """
    CREATE TRIGGER IF NOT EXISTS sops_sop_fts_insert AFTER INSERT ON sops_sop BEGIN
        INSERT INTO sops_sop_fts(rowid, title, outcome, body)
        VALUES (new.id, new.title, new.outcome, new.body);
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS sops_sop_fts_delete AFTER DELETE ON sops_sop BEGIN
        INSERT INTO sops_sop_fts(sops_sop_fts, rowid, title, outcome, body)
        VALUES ('delete', old.id, old.title, old.outcome, old.body);
    END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS sops_sop_fts_update AFTER UPDATE OF title, outcome, body
    ON sops_sop BEGIN
        INSERT INTO sops_sop_fts(sops_sop_fts, rowid, title, outcome, body)
        VALUES ('delete', old.id, old.title, old.outcome, old.body);
        INSERT INTO sops_sop_fts(rowid, title, outcome, body)
        VALUES (new.id, new.title, new.outcome, new.body);
    END
    """,
    # The SOPs there already.
    "INSERT INTO sops_sop_fts(sops_sop_fts) VALUES ('rebuild')",
]

DROP = [
    "DROP TRIGGER IF EXISTS sops_sop_fts_insert",
    "DROP TRIGGER IF EXISTS sops_sop_fts_delete",
    "DROP TRIGGER IF EXISTS sops_sop_fts_update",
    "DROP TABLE IF EXISTS sops_sop_fts",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in CREATE:
            schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("sops", "0013_sop_search_document")]

    operations = [migrations.RunPython(create, drop)]
