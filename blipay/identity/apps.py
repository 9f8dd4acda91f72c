from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "blipay.identity"
    label = "identity"
    verbose_name = "Identity"
