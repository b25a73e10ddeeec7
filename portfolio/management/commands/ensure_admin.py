"""python manage.py ensure_admin: make sure an administrator account exists."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the superuser account if it does not exist. The password comes from "
        "DJANGO_SUPERUSER_PASSWORD, or is generated and printed once. An existing account is left as it is."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("DJANGO_SUPERUSER_USERNAME", "admin"))
        parser.add_argument("--email", default=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""))

    def handle(self, *args, **options):
        user_model = get_user_model()
        username = options["username"]
        if user_model.objects.filter(username=username).exists():
            self.stdout.write(f"Login: {username} (account exists; its password is unchanged).")
            return
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD", "")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(15)
        user_model.objects.create_superuser(username=username, email=options["email"], password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    f"Login: {username} / {password}\n"
                    "This generated password is shown only now; keep it, or set DJANGO_SUPERUSER_PASSWORD next time "
                    "on a fresh database."
                )
            )
        else:
            self.stdout.write(f"Login: {username} (password from DJANGO_SUPERUSER_PASSWORD).")
