from django.db import migrations

# The same expression as search's SOP document then was (0013 stores it in a column), so
# PostgreSQL could answer SOP searches from the index. SQLite has no full-text vectors; there
# the search filters and ranks instead.
CREATE = """
CREATE INDEX IF NOT EXISTS sop_search_vector ON sops_sop USING GIN ((
    (setweight(to_tsvector('english'::regconfig, COALESCE("title", '')), 'A')
     || setweight(to_tsvector('english'::regconfig, COALESCE("outcome", '')), 'B'))
     || setweight(to_tsvector('english'::regconfig, COALESCE("body", '')), 'C')
))
"""


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS sop_search_vector")


class Migration(migrations.Migration):
    dependencies = [("sops", "0003_acknowledgements")]

    operations = [migrations.RunPython(create_index, drop_index)]
