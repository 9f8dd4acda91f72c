from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "blipay.events"
    label = "blipay_events"
    verbose_name = "Event backbone"

    def ready(self) -> None:
        from blipay.events import audit, subscriptions

        subscriptions.autodiscover()
        audit.register()
