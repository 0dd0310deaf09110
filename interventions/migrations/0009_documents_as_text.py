from django.db import migrations

COLUMNS = ("inputs", "verdict")


def to_type(column_type):
    def alter(apps, schema_editor):
        """PostgreSQL: the compact documents as text (see compact._CompactJSONField)."""
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        changes = ", ".join(
            f"ALTER COLUMN {quote(c)} TYPE {column_type} USING {quote(c)}::{column_type}"
            for c in COLUMNS
        )
        schema_editor.execute(f"ALTER TABLE {quote('interventions_assessment')} {changes}")

    return alter


class Migration(migrations.Migration):
    dependencies = [("interventions", "0008_lighter_batch_writes")]

    operations = [migrations.RunPython(to_type("text"), to_type("json"))]
