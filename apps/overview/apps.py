from django.apps import AppConfig


class OverviewConfig(AppConfig):
    name = "apps.overview"
    label = "overview"

    def ready(self) -> None:
        from apps.overview import audit

        audit.register()
