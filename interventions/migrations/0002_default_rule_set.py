from django.db import migrations


def create_default_rule_set(apps, schema_editor):
    from interventions.rules import default_rules, validate_rules

    RuleSet = apps.get_model("interventions", "RuleSet")
    if RuleSet.objects.exists():
        return
    RuleSet.objects.create(
        version=1,
        name="Default 2025 (BPS lines)",
        status="published",
        rules=validate_rules(default_rules()),
        notes=(
            "Extreme-poverty line Rp 391.000 per person per month (BPS, USD 2.15 PPP 2017); "
            "Banten poverty line Rp 684.232 (BPS, March 2025)."
        ),
    )


class Migration(migrations.Migration):
    dependencies = [("interventions", "0001_initial")]

    operations = [migrations.RunPython(create_default_rule_set, migrations.RunPython.noop)]
