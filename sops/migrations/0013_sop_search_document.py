from django.db import migrations

# PostgreSQL keeps each SOP's search document in a column of its own, computed from the SOP by
# the database itself (a stored generated column), indexed. The index of 0004 found the SOPs
# that match quickly, but ranking them recomputed the document of every match: a common word,
# matched by a quarter of 20,000 SOPs, cost 200 ms a search. Ranking stored documents costs a
# tenth of that. The expression is the one opsmodel.front.search ranked before. SQLite has no
# full-text vectors; there the search filters and ranks in its own way (no column).
ADD = """
ALTER TABLE sops_sop ADD COLUMN IF NOT EXISTS search_document tsvector GENERATED ALWAYS AS (
    (setweight(to_tsvector('english'::regconfig, COALESCE("title", '')), 'A')
     || setweight(to_tsvector('english'::regconfig, COALESCE("outcome", '')), 'B'))
     || setweight(to_tsvector('english'::regconfig, COALESCE("body", '')), 'C')
) STORED;
CREATE INDEX IF NOT EXISTS sop_search_document ON sops_sop USING GIN (search_document);
DROP INDEX IF EXISTS sop_search_vector;
"""

DROP = """
CREATE INDEX IF NOT EXISTS sop_search_vector ON sops_sop USING GIN ((
    (setweight(to_tsvector('english'::regconfig, COALESCE("title", '')), 'A')
     || setweight(to_tsvector('english'::regconfig, COALESCE("outcome", '')), 'B'))
     || setweight(to_tsvector('english'::regconfig, COALESCE("body", '')), 'C')
));
DROP INDEX IF EXISTS sop_search_document;
ALTER TABLE sops_sop DROP COLUMN IF EXISTS search_document;
"""


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("sops", "0012_source")]

    operations = [migrations.RunPython(add, drop)]
