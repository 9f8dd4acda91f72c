import pytest

from strangler.models import Route, RouteChange, TableVersion

pytestmark = pytest.mark.django_db


def test_a_route_changed_in_the_admin_is_audited_and_published_to_every_process(admin_client, settings):
    settings.BLIPAY_SERVICES = {"notifications": "http://127.0.0.1:8001"}
    route = Route.objects.get(name="notifications")  # the contract's first route, made by a migration
    version = TableVersion.objects.values_list("version", flat=True).first()
    form = {
        "name": route.name,
        "service": "notifications",
        "methods": "GET,HEAD",
        "path": route.path,
        "url_name": "",
        "mode": "canary",
        "percent": 10,
        "serve": "monolith",
        "shadow_sample": 100,
        "shadow_body_cap": 1000,
        "ignore": "[]",
        "connect_timeout": 0.5,
        "read_timeout": 5,
        "breaker_failures": 5,
        "breaker_cooldown": 5,
        "min_sample": 50,
        "max_error_rate": 0.01,
        "max_p99_ratio": 1.5,
        "max_mismatch_rate": 0.01,
    }

    response = admin_client.post(f"/admin/strangler/route/{route.pk}/change/", form)

    assert response.status_code == 302, response.content
    change = RouteChange.objects.get(route="notifications")
    assert (change.actor, change.via, change.before["mode"], change.after["mode"]) == (
        "admin",
        "admin",
        "monolith",
        "canary",
    )
    assert TableVersion.objects.values_list("version", flat=True).first() != version


def test_the_admin_refuses_a_route_to_a_service_the_monolith_does_not_know(admin_client, settings):
    settings.BLIPAY_SERVICES = {}
    route = Route.objects.create(name="x", service="nowhere", path="/api/v1/x/{id}")

    response = admin_client.post(
        f"/admin/strangler/route/{route.pk}/change/",
        {
            "name": "x",
            "service": "nowhere",
            "methods": "GET",
            "path": route.path,
            "mode": "service",
            "percent": 0,
            "serve": "monolith",
            "shadow_sample": 100,
            "shadow_body_cap": 1,
            "ignore": "[]",
            "connect_timeout": 1,
            "read_timeout": 1,
            "breaker_failures": 1,
            "breaker_cooldown": 1,
            "min_sample": 1,
            "max_error_rate": 0,
            "max_p99_ratio": 1,
            "max_mismatch_rate": 0,
        },
    )

    assert response.status_code == 200 and b"not in BLIPAY_SERVICES" in response.content
    assert Route.objects.get(pk=route.pk).mode == "monolith"
