from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "blipay.api"
    label = "blipay_api"
    verbose_name = "API access"

    def ready(self) -> None:
        from blipay.api import schema  # noqa: F401 - registers the bearer scheme with drf-spectacular
