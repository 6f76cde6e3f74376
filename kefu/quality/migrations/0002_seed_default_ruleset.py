"""Seed the default rule set (003 §4.2 phrases, service norms, 员工评分表) as the active version."""

from django.db import migrations


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    from kefu.quality.engine import RuleSet as EngineRuleSet
    from kefu.quality.engine import default_config

    RuleSet = apps.get_model("quality", "RuleSet")
    if RuleSet.objects.filter(active=True).exists():
        return
    config = default_config()
    built = EngineRuleSet.from_config(config)
    RuleSet.objects.update_or_create(
        version=built.version,
        defaults={"name": built.name, "config": config, "active": True, "note": "default (seed 003 §3.1, §4.2)"},
    )


def unseed(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("quality", "RuleSet").objects.filter(inspections__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("quality", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
