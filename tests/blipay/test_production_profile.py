"""BLIPAY_ENV=production: HTTPS only, proxy headers believed from configured hops only,
and no development secret accepted. Without it (tests, local runs) plain HTTP works."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from blipay.settings import DEV_SECRETS

pytestmark = pytest.mark.django_db

MANAGE = str(Path(django_settings.BASE_DIR) / "manage.py")


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {
        key: value for key, value in os.environ.items() if key not in {"BLIPAY_DEBUG", "BLIPAY_SERVICE", *DEV_SECRETS}
    }
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "blipay.settings",
        "BLIPAY_VAR_DIR": str(tmp_path),
        "BLIPAY_ENV": "production",
        "BLIPAY_SECRET_KEY": secrets.token_urlsafe(50),
        "BLIPAY_INTERNAL_KEY": secrets.token_urlsafe(32),
        "BLIPAY_BANK_WEBHOOK_SECRET": secrets.token_urlsafe(32),
        "BLIPAY_TRUSTED_PROXIES": "10.0.0.2",
        **overrides,
    }


def test_check_deploy_is_clean_under_the_production_profile_with_real_secrets(tmp_path):
    result = subprocess.run(
        [sys.executable, MANAGE, "check", "--deploy", "--fail-level", "WARNING"],
        env=_production_env(tmp_path),
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("name", sorted(DEV_SECRETS))
def test_production_refuses_to_start_with_a_development_secret(tmp_path, name):
    unset = _production_env(tmp_path)
    del unset[name]
    default = _production_env(tmp_path, **{name: DEV_SECRETS[name]})

    for env in (unset, default):
        result = subprocess.run([sys.executable, MANAGE, "check"], env=env, capture_output=True, text=True)

        assert result.returncode != 0
        assert f"BLIPAY_ENV=production refuses {name}'s development default" in result.stderr


def test_an_unknown_blipay_env_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, MANAGE, "check"],
        env=_production_env(tmp_path, BLIPAY_ENV="prod"),
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "BLIPAY_ENV='prod'" in result.stderr


def test_without_the_profile_plain_http_is_served(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    assert not django_settings.SECURE_SSL_REDIRECT
    assert django_settings.BLIPAY_ENV == "development"


@pytest.fixture
def production_http(settings):
    """What the production profile turns on behind a proxy at 10.0.0.2, in this process."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.BLIPAY_TRUSTED_PROXIES = frozenset({"10.0.0.2"})
    settings.MIDDLEWARE = [
        settings.MIDDLEWARE[0],
        "blipay.api.middleware.ForwardedProtoMiddleware",
        *settings.MIDDLEWARE[1:],
    ]


@pytest.mark.parametrize("path", ["/api/schema/", "/api/v1/notifications"])
def test_production_redirects_plain_http_even_when_a_client_claims_https(client, production_http, path):
    plain = client.get(path)
    claimed = client.get(path, HTTP_X_FORWARDED_PROTO="https")

    assert plain.status_code == claimed.status_code == 301
    assert plain["Location"].startswith("https://")


def test_production_serves_https_the_trusted_proxy_terminated_with_hsts(client, production_http):
    response = client.get("/api/schema/", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.0.0.2")

    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
