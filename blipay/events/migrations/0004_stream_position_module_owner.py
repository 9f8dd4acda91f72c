from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("blipay_events", "0003_relay_kick")]

    operations = [
        migrations.CreateModel(
            name="StreamPosition",
            fields=[
                ("consumer", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("event_time", models.DateTimeField()),
            ],
            options={"db_table": "blipay_stream_position"},
        ),
        migrations.CreateModel(
            name="ModuleOwner",
            fields=[
                ("module", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("owner", models.CharField(max_length=64)),
                ("epoch", models.PositiveBigIntegerField(default=0)),
                ("marker_id", models.CharField(max_length=64)),
                ("changed_at", models.DateTimeField(auto_now=True)),
            ],
            options={"db_table": "blipay_module_owner"},
        ),
    ]
