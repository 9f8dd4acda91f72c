from django.apps import AppConfig


class StranglerConfig(AppConfig):
    name = "strangler"
    verbose_name = "Strangler: routes to extracted services"
