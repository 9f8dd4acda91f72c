"""Settings read from the environment: the database, the broker and the cache."""

import json
import os
import subprocess
import sys

import pytest

from blipay.events.broker import connect
from blipay.events.queue_migration import celery_task_queue
from blipay.settings import VAR_DIR, _cache, _database


def test_a_postgres_url_becomes_a_pooled_health_checked_database_with_its_own_test_name():
    database = _database("postgres://ani:s%40cret@db.internal:6543/wallet")

    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["USER"], database["PASSWORD"], database["HOST"], database["PORT"]) == (
        "ani",
        "s@cret",
        "db.internal",
        6543,
    )
    assert (database["NAME"], database["TEST"]["NAME"]) == ("wallet", "test_wallet")
    assert (database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]) == (60, True)


def test_behind_a_transaction_pooler_no_server_side_cursor_is_opened(monkeypatch):
    assert not _database("postgres://").get("DISABLE_SERVER_SIDE_CURSORS")
    monkeypatch.setenv("BLIPAY_DB_TRANSACTION_POOLING", "true")

    assert _database("postgres://pgbouncer:6432/blipay")["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_a_bare_postgres_url_falls_back_to_the_local_defaults():
    database = _database("postgres://")

    assert (database["USER"], database["HOST"], database["PORT"], database["NAME"]) == (
        "postgres",
        "127.0.0.1",
        5432,
        "blipay",
    )


def test_no_database_url_means_sqlite_under_var_taking_the_write_lock_up_front():
    database = _database(None)

    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == VAR_DIR / "blipay.sqlite3"
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert database["TEST"]["NAME"].name == "test.sqlite3"


def test_a_database_url_that_is_not_postgres_is_refused():
    with pytest.raises(ValueError, match="must be postgres://"):
        _database("mysql://root@127.0.0.1/blipay")


def test_the_cache_is_local_memory_unless_redis_url_names_a_redis():
    assert _cache(None)["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert _cache("redis://127.0.0.1:6379/3") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/3",
    }


def test_a_kombu_failover_list_in_broker_url_reaches_the_broker_connection_whole():
    failover = "amqp://guest:guest@rabbit-a:5672//;amqp://guest:guest@rabbit-b:5672//"
    script = "from blipay import settings; print(settings.BROKER_URL); print(settings.CELERY_BROKER_URL)"
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "BROKER_URL": failover},
        capture_output=True,
        text=True,
        check=True,
    )
    broker_url, celery_url = result.stdout.split()
    assert broker_url == celery_url == failover

    connection = connect(broker_url)

    assert [alternate.split("@")[1] for alternate in connection.alt] == ["rabbit-a:5672//", "rabbit-b:5672//"]


def _queue_type(**env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("BROKER_URL", "BLIPAY_QUEUE_TYPE")}
    script = "from blipay import settings; print(settings.BLIPAY_EVENTS['QUEUE_TYPE'])"
    return subprocess.run([sys.executable, "-c", script], env={**environ, **env}, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "classic"),
        ({"BROKER_URL": "amqp://guest:guest@rabbit-a:5672//"}, "classic"),
        ({"BROKER_URL": "amqp://guest:guest@rabbit-a:5672//;amqp://guest:guest@rabbit-b:5672//"}, "quorum"),
        ({"BROKER_URL": "amqp://guest:guest@rabbit-a:5672//", "BLIPAY_QUEUE_TYPE": "quorum"}, "quorum"),
        ({"BROKER_URL": "amqp://a//;amqp://b//", "BLIPAY_QUEUE_TYPE": "classic"}, "classic"),
    ],
)
def test_module_queues_are_quorum_when_broker_url_lists_several_nodes_unless_told(env, expected):
    assert _queue_type(**env).stdout.strip() == expected


def test_an_unknown_queue_type_is_refused_naming_the_choices():
    result = _queue_type(BLIPAY_QUEUE_TYPE="mirrored")

    assert result.returncode != 0
    assert "BLIPAY_QUEUE_TYPE='mirrored': use one of classic, quorum" in result.stderr


def test_on_a_cluster_celerys_task_queue_is_quorum_declared_as_migrate_queues_moves_it():
    script = (
        "import json; from blipay import settings; q = settings.CELERY_TASK_QUEUES[0];"
        "print(json.dumps([q.name, q.exchange.name, q.exchange.type, q.routing_key, q.queue_arguments]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "BROKER_URL": "amqp://a//;amqp://b//", "BLIPAY_QUEUE_TYPE": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    expected = celery_task_queue("quorum")

    assert json.loads(result.stdout) == [
        expected.name,
        expected.exchange.name,
        expected.exchange.type,
        expected.routing_key,
        expected.queue_arguments,
    ]
