from django.db import migrations

# PostgreSQL keeps each process's and each step's search document in a column of its own,
# computed by the database (a stored generated column) and indexed, as sops 0013 does for SOPs.
# Searching built a tsvector of every one of 10,000 steps and 2,000 processes each time (40 ms a
# search). The expressions are the ones opsmodel.front.search built before: a process's name
# (weight A) and result (B), a step's name (A). SQLite searches these small tables with its word
# filter (no column).
ADD = """
ALTER TABLE processes_process ADD COLUMN IF NOT EXISTS search_document tsvector
GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, COALESCE("name", '')), 'A')
    || setweight(to_tsvector('english'::regconfig, COALESCE("result", '')), 'B')
) STORED;
CREATE INDEX IF NOT EXISTS process_search_document
    ON processes_process USING GIN (search_document);
ALTER TABLE processes_step ADD COLUMN IF NOT EXISTS search_document tsvector
GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, COALESCE("name", '')), 'A')
) STORED;
CREATE INDEX IF NOT EXISTS step_search_document ON processes_step USING GIN (search_document);
"""

DROP = """
DROP INDEX IF EXISTS step_search_document;
ALTER TABLE processes_step DROP COLUMN IF EXISTS search_document;
DROP INDEX IF EXISTS process_search_document;
ALTER TABLE processes_process DROP COLUMN IF EXISTS search_document;
"""


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("processes", "0008_source")]

    operations = [migrations.RunPython(add, drop)]
