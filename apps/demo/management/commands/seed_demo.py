from django.core.management.base import BaseCommand

from apps.demo.seed import DEMO_PASSWORD, demo_logins, demo_seed


class Command(BaseCommand):
    help = (
        "Create the demo agency, members, creators, signed contracts and brand deals, import the demo "
        "statement through the income pipeline (idempotent) and print the logins."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--if-empty", action="store_true", help="seed only when the database has no agency yet (make run)"
        )

    def handle(self, *args: object, if_empty: bool = False, **options: object) -> None:
        from apps.agencies.models import Agency

        if if_empty and Agency.objects.exists():
            self.stdout.write("Data present: demo seed skipped.")
            logins = demo_logins()
        else:
            logins = demo_seed()
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for login in logins:
            mfa = f"  TOTP secret: {login.totp_secret}" if login.totp_secret else ""
            self.stdout.write(f"  {login.email:<32} {login.role:<22}{mfa}")
        self.stdout.write(
            "Add a TOTP secret to an authenticator app (or `oathtool --totp -b SECRET`) to sign in."
        )
