"""The inbox's applied deliveries move from django-outbox-pattern's ``received`` to
``blipay_inbox`` (one narrow row, one index); the failed ones stay where they are. Moved
set-based, so an upgraded deployment keeps its window of caught duplicates."""

from django.db import migrations, models

SUCCEEDED = 2  # django_outbox_pattern.choices.StatusChoice.SUCCEEDED

MOVE_IN = {
    "postgresql": f"""
        INSERT INTO blipay_inbox (key, consumer, routing_key, correlation_id, causation_id, applied_at, attempts)
        SELECT msg_id, split_part(msg_id, ':', 1), COALESCE(headers ->> 'destination', ''),
               COALESCE(headers ->> 'correlation_id', ''),
               body ->> 'causation_id', added, retry
        FROM received WHERE status = {SUCCEEDED} AND msg_id LIKE '%:%'
        ON CONFLICT (key) DO NOTHING
    """,
    "sqlite": f"""
        INSERT INTO blipay_inbox (key, consumer, routing_key, correlation_id, causation_id, applied_at, attempts)
        SELECT msg_id, substr(msg_id, 1, instr(msg_id, ':') - 1),
               COALESCE(json_extract(headers, '$.destination'), ''),
               COALESCE(json_extract(headers, '$.correlation_id'), ''),
               json_extract(body, '$.causation_id'), added, retry
        FROM received WHERE status = {SUCCEEDED} AND msg_id LIKE '%:%' AND true
        ON CONFLICT (key) DO NOTHING
    """,
}

MOVE_OUT = {
    "postgresql": f"""
        INSERT INTO received (id, msg_id, headers, body, added, expires_at, retry, status)
        SELECT gen_random_uuid(), key,
               jsonb_build_object('consumer', consumer, 'destination', routing_key,
                                  'event_id', substr(key, length(consumer) + 2), 'correlation_id', correlation_id),
               NULL, applied_at, applied_at + interval '1 day', attempts, {SUCCEEDED}
        FROM blipay_inbox
        ON CONFLICT (msg_id) DO UPDATE SET status = excluded.status, retry = excluded.retry
    """,
    "sqlite": f"""
        INSERT INTO received (id, msg_id, headers, body, added, expires_at, retry, status)
        SELECT lower(hex(randomblob(16))), key,
               json_object('consumer', consumer, 'destination', routing_key,
                           'event_id', substr(key, length(consumer) + 2), 'correlation_id', correlation_id),
               NULL, applied_at, applied_at, attempts, {SUCCEEDED}
        FROM blipay_inbox WHERE true
        ON CONFLICT (msg_id) DO UPDATE SET status = excluded.status, retry = excluded.retry
    """,
}


def move_applied_in(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(MOVE_IN[schema_editor.connection.vendor])
        cursor.execute("DELETE FROM received WHERE status = %s", [SUCCEEDED])


def move_applied_out(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(MOVE_OUT[schema_editor.connection.vendor])
        cursor.execute("DELETE FROM blipay_inbox")


class Migration(migrations.Migration):
    dependencies = [
        ("blipay_events", "0004_stream_position_module_owner"),
        ("django_outbox_pattern", "0006_published_published_status_27c9ec_btree"),
    ]

    operations = [
        migrations.CreateModel(
            name="AppliedEvent",
            fields=[
                ("key", models.CharField(max_length=100, primary_key=True, serialize=False)),
                ("consumer", models.CharField(max_length=64)),
                ("routing_key", models.CharField(max_length=128)),
                ("correlation_id", models.TextField()),
                ("causation_id", models.TextField(null=True)),
                ("applied_at", models.DateTimeField()),
                ("attempts", models.PositiveIntegerField(default=0)),
            ],
            options={"db_table": "blipay_inbox", "verbose_name": "applied event", "verbose_name_plural": "inbox"},
        ),
        migrations.RunPython(move_applied_in, move_applied_out),
    ]
