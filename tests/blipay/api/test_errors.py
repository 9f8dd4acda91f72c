"""Refusals carry a code and a message; the API's one table turns codes into statuses."""

import importlib

from django.apps import apps

from blipay.api.errors import STATUS_OF
from blipay.errors import DomainError


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def test_every_refusal_a_module_declares_has_its_status_in_the_api_table():
    for config in apps.get_app_configs():
        try:
            importlib.import_module(f"{config.name}.errors")
        except ModuleNotFoundError:
            continue
    importlib.import_module("blipay.api.idempotency")

    codes = {error.code for error in [DomainError, *_subclasses(DomainError)]}

    assert len(codes) > 10
    assert codes <= set(STATUS_OF)


def test_a_refusal_knows_nothing_about_http():
    for error in [DomainError, *_subclasses(DomainError)]:
        assert not hasattr(error, "status"), error
        assert not hasattr(error, "status_code"), error
