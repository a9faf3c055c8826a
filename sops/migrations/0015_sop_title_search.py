from django.db import migrations

# PostgreSQL: an index of each SOP's title words, as the title part of its search document
# (0013) has them, so that a one-word search ranks only the SOPs with the word in their title
# when there are enough of them (opsmodel.front.search.postgres_sql). SQLite's full-text index
# (0014) has each field apart already.
ADD = """
CREATE INDEX IF NOT EXISTS sop_title_search ON sops_sop
USING GIN (to_tsvector('english'::regconfig, COALESCE("title", '')));
"""
DROP = "DROP INDEX IF EXISTS sop_title_search;"


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("sops", "0014_sop_full_text_sqlite")]

    operations = [migrations.RunPython(add, drop)]
