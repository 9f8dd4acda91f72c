"""A bank confirmation keeps its outcome and the reason for a refusal; the HTTP answer the
bank got follows from them (payments.api.bank_answer), so it is no longer stored."""

from django.db import migrations, models


def messages_from_answers(apps, schema_editor):
    BankNotification = apps.get_model("payments", "BankNotification")
    for row in BankNotification.objects.exclude(outcome="credited").iterator():
        row.message = ((row.response or {}).get("error") or {}).get("message", "")[:200]
        row.save(update_fields=["message"])


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="banknotification",
            name="message",
            field=models.CharField(blank=True, help_text="why it was refused", max_length=200, default=""),
            preserve_default=False,
        ),
        migrations.RunPython(messages_from_answers, migrations.RunPython.noop),
        migrations.RemoveField(model_name="banknotification", name="status_code"),
        migrations.RemoveField(model_name="banknotification", name="response"),
    ]
