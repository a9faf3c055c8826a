from django.db import migrations

# PostgreSQL keeps each system's search document (name, weight A; purpose, B) in a column of
# its own, computed by the database (a stored generated column) and indexed, as sops 0013 and
# processes 0009 do: searching built a tsvector of every system each time (2 ms of a search at
# 200 systems). The expression is the one opsmodel.front.search built before. SQLite searches
# systems with its word filter (no column).
ADD = """
ALTER TABLE systems_system ADD COLUMN IF NOT EXISTS search_document tsvector
GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, COALESCE("name", '')), 'A')
    || setweight(to_tsvector('english'::regconfig, COALESCE("purpose", '')), 'B')
) STORED;
CREATE INDEX IF NOT EXISTS system_search_document ON systems_system USING GIN (search_document);
"""

DROP = """
DROP INDEX IF EXISTS system_search_document;
ALTER TABLE systems_system DROP COLUMN IF EXISTS search_document;
"""


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("systems", "0007_source")]

    operations = [migrations.RunPython(add, drop)]
