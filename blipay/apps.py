from django.apps import AppConfig


class BlipayConfig(AppConfig):
    """The project itself, installed for its commands (serve, load_demo)."""

    name = "blipay"
    verbose_name = "Blipay"
