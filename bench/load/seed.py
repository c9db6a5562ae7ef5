"""The data `make load` serves: bench/creator_pages.py's seed, then the people who sign in.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fenrun_load_bench \\
        .venv/bin/python bench/load/seed.py --creators 10000 --lines 1000000 --postings 3500000

The database's name must contain "bench": it is dropped and migrated. bench/creator_pages.py's
`seed`, imported as is: one agency ("Bench MCN"), C creators with their Douyin accounts
`bench_dy_<i>` (what bench/generate_statement.py's statements name), representations and an
active contract each, L recognised lines over the last 24 months with their allocations, journal
entries up to P postings, the balances rebuilt, and one published statement per creator for last
month. Then, set-based:

* each contract version's engine state (the lines allocated so far), so that an import's
  recognition goes on after the seeded lines (see engine_states_seed);
* the first N creators' users (bench<i>@example.test) get a password and a verified primary
  email address (allauth's login requires one). The password is hashed once, here, with
  Django's production hasher (PBKDF2, 1,500,000 iterations), and that one hash is written to
  every row: the seed pays the hasher once, each login pays it as in production;
* M managers and O owners of the agency (load-manager<i>@, load-owner<i>@example.test), with
  the same password and verified addresses. Owners must use a second factor (accounts'
  RequireMfaMiddleware): each gets a TOTP authenticator (allauth's own activation), and signs
  in through a session bench/load/run.py writes server-side, as the tests' force_login does,
  because locust cannot read an authenticator app.

Run with the test settings (as the other benches): the ledger's triggers are turned off while
filling, which needs the owner of the tables and the disposable-database flag.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

# Not a secret: the bench's users exist only in a *bench* database on loopback.
PASSWORD = "load-bench-password-2026"  # noqa: S105
SALT = "fenrunloadbench"


def creator_email(number: int) -> str:
    return f"bench{number}@example.test"  # bench/income_pipeline.py's setup names them so


def staff_email(role: str, number: int) -> str:
    return f"load-{role}{number}@example.test"


def people_seed(*, creator_users: int, managers: int, owners: int) -> None:
    """Passwords, verified addresses and the agency's staff (see the module's docstring)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.db import connection, transaction

    from apps.accounts.models import User
    from apps.agencies.models import Agency, Membership

    agency = Agency.objects.get(name="Bench MCN")
    encoded = PBKDF2PasswordHasher().encode(PASSWORD, SALT)
    with transaction.atomic():
        staff = User.objects.bulk_create(
            [User(email=staff_email("owner", i), password=encoded) for i in range(owners)]
            + [User(email=staff_email("manager", i), password=encoded) for i in range(managers)]
        )
        Membership.objects.bulk_create(
            [
                Membership(
                    agency=agency,
                    user=user,
                    role=Membership.Role.OWNER
                    if user.email.startswith("load-owner")
                    else Membership.Role.MANAGER,
                )
                for user in staff
            ]
        )
        for user in staff[:owners]:
            TOTP.activate(user, generate_totp_secret())
        emails = [creator_email(i) for i in range(creator_users)]
        with connection.cursor() as cursor:
            cursor.execute("UPDATE accounts_user SET password = %s WHERE email = ANY(%s)", [encoded, emails])
            if cursor.rowcount != creator_users:
                raise SystemExit(f"{cursor.rowcount} creators' users found, {creator_users} asked for")
            cursor.execute(
                """
                INSERT INTO account_emailaddress (user_id, email, verified, "primary")
                SELECT id, email, true, true FROM accounts_user WHERE email = ANY(%s)
                """,
                [emails + [user.email for user in staff]],
            )


def engine_states_seed() -> None:
    """Where recognition resumes for each contract version: bench/creator_pages.py writes the
    allocations but not the engine's state, so the import's first batch would number its lines
    from 0 again and collide with the seeded ones (recognition_allocation_order). One row per
    version, set-based: the line count the seed allocated and a fresh evaluator's state (the
    seeded months' running nets are not carried: a tier crossed by seeded and imported lines
    together is split as if only the imported counted; the seed's months never reach it).
    """
    from django.db import connection
    from income_pipeline import RULES

    from apps.ledger.services import canonical_json
    from apps.recognition.batch import state_dump
    from apps.splits.engine import Evaluator, parse_rule_set

    state = canonical_json(state_dump(Evaluator(parse_rule_set(RULES))))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO recognition_enginestate (contract_version_id, agency_id, state, line_count, updated_at)
            SELECT contract_version_id, agency_id, %s::jsonb, count(*), now()
            FROM recognition_lineallocation GROUP BY contract_version_id, agency_id
            """,
            [state],
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--creators", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--postings", type=int, default=3_500_000)
    parser.add_argument("--creator-users", type=int, default=200, help="creators who can sign in")
    parser.add_argument("--managers", type=int, default=15)
    parser.add_argument("--owners", type=int, default=5)
    args = parser.parse_args()
    if args.creator_users > args.creators:
        parser.error("--creator-users cannot exceed --creators")

    import django

    django.setup()
    from creator_pages import seed

    began = time.perf_counter()
    print(
        f"seed (bench/creator_pages.py): {args.creators:,} creators, {args.lines:,} lines, "
        f"{args.postings:,} postings",
        flush=True,
    )
    seed(args.creators, args.lines, args.postings)
    engine_states_seed()
    people_seed(creator_users=args.creator_users, managers=args.managers, owners=args.owners)
    print(
        f"  {args.creator_users} creators, {args.managers} managers and {args.owners} owners can sign in "
        f"({time.perf_counter() - began:.0f} s in all)",
        flush=True,
    )


if __name__ == "__main__":
    main()
