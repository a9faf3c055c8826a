from django.db import migrations

# PostgreSQL: each word of each SOP's title, with the SOP's rank for that word alone, kept by
# the database as SOPs are written (triggers, so every write path keeps it: forms, the admin,
# imports, the API, bulk loads), and indexed in the order search shows them. A one-word search
# reads its first SOPs from the index instead of ranking every SOP with the word in its title
# (opsmodel.front.search.postgres_sql): "invoice" at 20,000 SOPs ranked 2,457 titles, 2.9 ms;
# from the index, 0.12 ms, in the same order. It replaces the index of titles (0015), which
# only found those SOPs. (Rolled back to 0015, the database gets that index again, but search
# then needs the code of its time: today's reads this table.)
#
# A word is a lexeme the search document (0013) weighs A, that is one of the title's; its rank
# is ts_rank of the whole document for that lexeme, the figure search ranks by, written as a
# one-lexeme query (quoted, so that no lexeme is read as query syntax). SQLite ranks from its
# own full-text index (0014). sops_sop_title_words_rebuild() makes the table again from the
# SOPs, should it fall out of step (triggers disabled while loading a dump, say).
ADD = r"""
CREATE TABLE IF NOT EXISTS sops_sop_title_word (
    lexeme text NOT NULL,
    rank real NOT NULL,
    title text NOT NULL,
    sop_id bigint NOT NULL
);

CREATE OR REPLACE FUNCTION sops_sop_title_words_of(sop sops_sop)
RETURNS TABLE (lexeme text, rank real, title text, sop_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT entry.lexeme,
           ts_rank(sop.search_document,
                   ('''' || replace(replace(entry.lexeme, '\', '\\'), '''', '''''')
                    || '''')::tsquery),
           sop.title,
           sop.id
    FROM unnest(sop.search_document) AS entry
    WHERE 'A' = ANY(entry.weights)
$$;

CREATE OR REPLACE FUNCTION sops_sop_title_words_rebuild() RETURNS void
LANGUAGE sql AS $$
    DELETE FROM sops_sop_title_word;
    INSERT INTO sops_sop_title_word
    SELECT words.* FROM sops_sop AS sop, sops_sop_title_words_of(sop) AS words;
$$;

CREATE OR REPLACE FUNCTION sops_sop_title_words() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM sops_sop_title_word WHERE sop_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO sops_sop_title_word SELECT * FROM sops_sop_title_words_of(NEW);
    END IF;
    RETURN NULL;
END
$$;

-- DELETE, not TRUNCATE: TRUNCATE would lock the table against the searches reading it, and
-- empty it for transactions that still see the SOPs.
CREATE OR REPLACE FUNCTION sops_sop_title_words_emptied() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sops_sop_title_word;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS sops_sop_title_words_insert ON sops_sop;
CREATE TRIGGER sops_sop_title_words_insert AFTER INSERT ON sops_sop
    FOR EACH ROW EXECUTE FUNCTION sops_sop_title_words();
DROP TRIGGER IF EXISTS sops_sop_title_words_update ON sops_sop;
CREATE TRIGGER sops_sop_title_words_update AFTER UPDATE ON sops_sop
    FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title
          OR OLD.search_document IS DISTINCT FROM NEW.search_document
          OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION sops_sop_title_words();
DROP TRIGGER IF EXISTS sops_sop_title_words_delete ON sops_sop;
CREATE TRIGGER sops_sop_title_words_delete AFTER DELETE ON sops_sop
    FOR EACH ROW EXECUTE FUNCTION sops_sop_title_words();
DROP TRIGGER IF EXISTS sops_sop_title_words_truncate ON sops_sop;
CREATE TRIGGER sops_sop_title_words_truncate AFTER TRUNCATE ON sops_sop
    FOR EACH STATEMENT EXECUTE FUNCTION sops_sop_title_words_emptied();

SELECT sops_sop_title_words_rebuild();

CREATE INDEX IF NOT EXISTS sop_title_word_ranking
    ON sops_sop_title_word (lexeme, rank DESC, title, sop_id);
CREATE INDEX IF NOT EXISTS sop_title_word_sop ON sops_sop_title_word (sop_id);
ANALYZE sops_sop_title_word;

DROP INDEX IF EXISTS sop_title_search;
"""

DROP = """
DROP TRIGGER IF EXISTS sops_sop_title_words_insert ON sops_sop;
DROP TRIGGER IF EXISTS sops_sop_title_words_update ON sops_sop;
DROP TRIGGER IF EXISTS sops_sop_title_words_delete ON sops_sop;
DROP TRIGGER IF EXISTS sops_sop_title_words_truncate ON sops_sop;
DROP FUNCTION IF EXISTS sops_sop_title_words();
DROP FUNCTION IF EXISTS sops_sop_title_words_emptied();
DROP FUNCTION IF EXISTS sops_sop_title_words_rebuild();
DROP FUNCTION IF EXISTS sops_sop_title_words_of(sops_sop);
DROP TABLE IF EXISTS sops_sop_title_word;
CREATE INDEX IF NOT EXISTS sop_title_search ON sops_sop
USING GIN (to_tsvector('english'::regconfig, COALESCE("title", '')));
"""


def add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("sops", "0015_sop_title_search")]

    operations = [migrations.RunPython(add, drop)]
