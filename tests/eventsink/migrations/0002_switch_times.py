from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("eventsink", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="switch",
            name="times",
            field=models.PositiveIntegerField(default=0, help_text="fail: the first this many runs fail; 0: every run"),
        ),
    ]
