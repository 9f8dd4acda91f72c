"""What every Celery task runs in: a database connection that works."""

import psycopg
import pytest
from celery.signals import task_prerun
from django.db import OperationalError, connection

from blipay.events.tasks import relay
from tests.helpers import postgres_test_db_url


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_task_after_postgresql_dropped_the_workers_connection_runs_on_a_fresh_one():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
    with psycopg.connect(postgres_test_db_url().replace(connection.settings_dict["NAME"], "postgres")) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))
    with pytest.raises(OperationalError), connection.cursor() as cursor:
        cursor.execute("SELECT 1")  # the task that was running when it happened fails

    task_prerun.send(sender=relay, task_id="next", task=relay, args=(), kwargs={})

    with connection.cursor() as cursor:  # the next task works
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != backend
