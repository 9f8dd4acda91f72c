from django.apps import AppConfig


class WalletConfig(AppConfig):
    name = "apps.wallet"
    label = "wallet"

    def ready(self) -> None:
        from apps.wallet import audit

        audit.register()
