from django.apps import AppConfig
from django.conf import settings


class BlipayConfig(AppConfig):
    """The project itself, installed for its commands (serve, load_demo); at start-up it
    turns tracing on if the ``OTEL_*`` variables ask for it (blipay.observability.tracing)."""

    name = "blipay"
    verbose_name = "Blipay"

    def ready(self) -> None:
        from blipay.observability import tracing

        tracing.configure_from_environment(settings.BLIPAY_DEPLOYMENT)
