from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "apps.notifications"
    label = "notifications"

    def ready(self) -> None:
        from apps.notifications.selectors import member_digests
        from blipay.events.digests import register_digest

        register_digest("notifications", member_digests)
