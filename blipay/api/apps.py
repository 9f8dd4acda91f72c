from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "blipay.api"
    label = "blipay_api"
    verbose_name = "API access"
