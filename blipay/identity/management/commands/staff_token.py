from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from blipay.identity.credentials import credential_issue
from blipay.identity.models import Credential


class Command(BaseCommand):
    help = (
        "Issue an API bearer token for an existing, active Django staff user and print it. "
        "It is shown only this once (only its hash is stored); revoke it in the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="a Django user with is_staff set")

    def handle(self, *args, username: str, **options) -> None:
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"no user {username!r}; create one with `manage.py createsuperuser`")
        if not (user.is_active and user.is_staff):
            raise CommandError(f"{username!r} is not an active staff user")
        with transaction.atomic():
            token = credential_issue(kind=Credential.STAFF, subject=str(user.pk))
        self.stdout.write(token)
        self.stderr.write(f"Staff token for {username}: send it as 'Authorization: Bearer <token>'. Store it now.")
