import secrets

from django.db import migrations


def first_route(apps, schema_editor):
    """The table's version row, and the contract's first route (API-V1.md): the member's
    notifications, served by the monolith until someone moves it."""
    apps.get_model("strangler", "TableVersion").objects.get_or_create(pk=1, defaults={"version": secrets.token_hex(16)})
    apps.get_model("strangler", "Route").objects.get_or_create(
        name="notifications",
        defaults={
            "service": "notifications",
            "methods": "GET,HEAD",
            "path": "/api/v1/members/{id}/notifications",
            "mode": "monolith",
            "seed": secrets.token_hex(16),
            "ignore": [],
            "auto_steps": [],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("strangler", "0001_initial")]
    operations = [migrations.RunPython(first_route, migrations.RunPython.noop)]
