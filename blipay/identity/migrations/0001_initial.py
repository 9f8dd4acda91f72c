"""Credential moves here from blipay.api without touching the database: its table (created
by blipay_api 0001) keeps its name and its rows. Only Django's idea of which app owns the
model changes, and the content type follows so permissions on it stay attached."""

from django.db import migrations, models


def content_type_follows(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="blipay_api", model="credential").update(app_label="identity")


def content_type_goes_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="identity", model="credential").update(app_label="blipay_api")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("blipay_api", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Credential",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        (
                            "kind",
                            models.CharField(
                                choices=[("member", "member token"), ("merchant", "merchant API key"), ("staff", "staff token")],
                                max_length=8,
                            ),
                        ),
                        ("subject", models.CharField(help_text="the member, merchant or staff user it stands for", max_length=64)),
                        ("key_hash", models.CharField(max_length=64, unique=True)),
                        ("prefix", models.CharField(help_text="the secret's first characters, to recognise it", max_length=12)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "db_table": "blipay_api_credential",
                        "indexes": [models.Index(fields=["kind", "subject"], name="blipay_api__kind_fabe0f_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_follows, content_type_goes_back),
    ]
