from django.db import migrations


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    from kefu.knowledge.flows import FLOWS

    Flow = apps.get_model("knowledge", "Flow")
    for f in FLOWS:
        Flow.objects.get_or_create(
            code=f["code"], defaults={"name": f["name"], "description": f["description"], "start": f["start"], "steps": f["steps"]}
        )


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
