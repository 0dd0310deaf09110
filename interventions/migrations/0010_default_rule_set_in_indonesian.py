"""The rule set migration 0002 creates, named in Indonesian (its users' language).

Only while it still carries the name and notes 0002 gave it: a name an administrator chose is
kept.
"""

from django.db import migrations

ENGLISH = (
    "Default 2025 (BPS lines)",
    "Extreme-poverty line Rp 391.000 per person per month (BPS, USD 2.15 PPP 2017); "
    "Banten poverty line Rp 684.232 (BPS, March 2025).",
)
INDONESIAN = (
    "Bawaan 2025 (garis kemiskinan BPS)",
    "Garis kemiskinan ekstrem Rp 391.000 per orang per bulan (BPS, USD 2,15 PPP 2017); "
    "garis kemiskinan Banten Rp 684.232 (BPS, Maret 2025).",
)


def _rename(apps, old, new):
    RuleSet = apps.get_model("interventions", "RuleSet")
    RuleSet.objects.filter(version=1, name=old[0], notes=old[1]).update(name=new[0], notes=new[1])


def to_indonesian(apps, schema_editor):
    _rename(apps, ENGLISH, INDONESIAN)


def to_english(apps, schema_editor):
    _rename(apps, INDONESIAN, ENGLISH)


class Migration(migrations.Migration):
    dependencies = [("interventions", "0009_documents_as_text")]

    operations = [migrations.RunPython(to_indonesian, to_english)]
