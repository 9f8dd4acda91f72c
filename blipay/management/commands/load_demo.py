import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Load the demo data a newcomer can click through, and make sure the admin login "
        "exists (user and password from BLIPAY_ADMIN_USER / BLIPAY_ADMIN_PASSWORD, default "
        "admin / admin). Safe to run again: it only adds what is missing."
    )

    def handle(self, *args, **options) -> None:
        username = os.environ.get("BLIPAY_ADMIN_USER", "admin")
        password = os.environ.get("BLIPAY_ADMIN_PASSWORD", "admin")
        users = get_user_model().objects
        if not users.filter(username=username).exists():
            users.create_superuser(username=username, email=f"{username}@blipay.test", password=password)
            self.stdout.write(f"created the admin user {username!r}")
        self.stdout.write(self.style.SUCCESS(f"admin login: {username} / {password}"))
