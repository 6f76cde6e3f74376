from django.db import migrations


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    from kefu.tickets.seed import load

    load(apps)


def gin_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Chinese full-text search: a GIN index over the jieba-segmented text (PostgreSQL only; SQLite
    # matches the same tokens with LIKE).
    # A stored generated tsvector column (unknown to the ORM, filled by PostgreSQL itself) so that
    # neither the index nor a filtered scan re-segments text at query time.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE tickets_ticket ADD COLUMN IF NOT EXISTS search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED"
        )
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS ticket_search_gin ON tickets_ticket USING gin (search_vector)"
        )


def drop_gin_index(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ticket_search_gin")
        schema_editor.execute("ALTER TABLE tickets_ticket DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
        migrations.RunPython(gin_index, drop_gin_index),
    ]
