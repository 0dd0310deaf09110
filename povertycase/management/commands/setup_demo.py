"""`manage.py setup_demo` (used by `make run`): a ready-to-try demo on an empty database.

Idempotent: regions (if none), reference organisations, a demo CSR company, synthetic households
(only if the register is empty) and one demo user per role (only those missing). Refuses to run
in production: demo users share a known password.
"""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from households.demo import DemoDataError, load_demo
from households.models import Household
from interventions.demo_tier3 import tier3_demo
from interventions.models import Case, RecalculationJob
from interventions.pledge_demo import pledges_demo
from interventions.services import cases_verify_imported, job_run
from opd.models import Membership, Organisation, OrganisationKind, Role
from opd.services import membership_grant
from regions.models import Region

DEFAULT_PASSWORD = "demo-banten-2026"  # demo only; override with DEMO_PASSWORD
DEMO_CSR_NAME = "PT Demo Peduli Banten"
DEMO_CSR_SHORT_NAME = "PT Demo Peduli"
URL = "http://127.0.0.1:8000/"

# username, role (None: superuser), organisation short name, area code (None: whole province),
# is_staff (may open the Django admin)
DEMO_USERS = (
    ("admin", None, None, None, True),
    ("provinsi", Role.PROVINCIAL_ADMIN, "Dinsos Banten", None, True),
    ("kab_lebak", Role.DISTRICT_STAFF, "Dinsos Banten", "36.02", False),
    ("pendamping", Role.FIELD_WORKER, "Dinsos Banten", "36.02.01", False),
    ("opd_dinkes", Role.OPD_OFFICER, "Dinkes Banten", None, False),
    ("csr", Role.CSR_PARTNER, DEMO_CSR_SHORT_NAME, None, False),
    ("auditor", Role.AUDITOR, "Inspektorat Banten", None, False),
    ("bank_bri", Role.BANK_OFFICER, "BRI", None, False),
)
# Invented names, so pages name people as they will in use (not by username).
DEMO_NAMES = {
    "admin": ("Admin", "Sistem"),
    "provinsi": ("Rina", "Marlina"),
    "kab_lebak": ("Dedi", "Supriadi"),
    "pendamping": ("Siti", "Nurhasanah"),
    "opd_dinkes": ("Agus", "Setiawan"),
    "csr": ("Maya", "Lestari"),
    "auditor": ("Hendra", "Wijaya"),
    "bank_bri": ("Yuni", "Kartika"),
}


class Command(BaseCommand):
    help = (
        "Prepare the demo: regions, organisations, a demo CSR company, synthetic households "
        "(if the register is empty) and one login per role. Refuses to run in production."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--households",
            type=int,
            default=2000,
            help="Demo households to load when the register is empty (default 2000).",
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed for the data.")

    def handle(self, *args, households, seed, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "setup_demo refuses to run in production (DJANGO_ENV=production): it creates "
                "demo users with a known password and synthetic households. Create real "
                "accounts with `manage.py createsuperuser` and the admin instead."
            )
        if households < 0:
            raise CommandError("--households must be zero or more.")
        password = os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD

        if not Region.objects.exists():
            call_command("load_regions", stdout=self.stdout)
        call_command("load_organisations", stdout=self.stdout)
        call_command("load_programmes", stdout=self.stdout)
        Organisation.objects.get_or_create(
            name=DEMO_CSR_NAME,
            defaults={"short_name": DEMO_CSR_SHORT_NAME, "kind": OrganisationKind.CSR},
        )

        if Household.objects.exists():
            self.stdout.write("Households: the register is not empty; no demo households added.")
        elif households:
            try:
                result = load_demo(households=households, seed=seed)
            except DemoDataError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"Households: {result.households:,} demo households with {result.members:,} "
                f"members loaded in {result.seconds:.1f} s."
            )

        self._pathway()
        created = self._users(password)
        self.stdout.write(f"Demo users: {created} created.")
        self._pledges()
        self.stdout.write(
            tier3_demo(actor_username="provinsi", bank_username="bank_bri",
                       facilitator_username="pendamping")
        )  # fmt: skip
        self._print_logins(password)

    def _pathway(self) -> None:
        """Place the demo households on the pathway (in-process, before serving)."""
        verified = cases_verify_imported()
        if not verified and Case.objects.exists():
            return
        job = RecalculationJob.objects.create(trigger=RecalculationJob.Trigger.MANUAL)
        job = job_run(job_id=job.pk)
        self.stdout.write(
            f"Pathway: {verified:,} imported households verified; {job.assessed:,} assessed, "
            f"{job.moved:,} placed in a tier."
        )

    def _pledges(self) -> None:
        """Pledges of the demo CSR company with disbursements and funded deliveries."""
        company = Organisation.objects.get(name=DEMO_CSR_NAME)
        admin = get_user_model().objects.get(username="provinsi")
        funded = pledges_demo(admin=admin, company=company)
        if funded or company.pledges.exists():
            self.stdout.write(
                f"CSR: demo pledges of {company.short_name}; {funded} deliveries funded."
            )

    @transaction.atomic
    def _users(self, password: str) -> int:
        user_model = get_user_model()
        created = 0
        for username, role, org_name, area_code, is_staff in DEMO_USERS:
            user = user_model.objects.filter(username=username).first()
            if user is None:
                if role is None:
                    user = user_model.objects.create_superuser(username, "", password)
                else:
                    user = user_model.objects.create_user(
                        username, password=password, is_staff=is_staff
                    )
                created += 1
            if not user.first_name and not user.last_name:
                user.first_name, user.last_name = DEMO_NAMES[username]
                user.save(update_fields=["first_name", "last_name"])
            if role is None:
                continue
            organisation = Organisation.objects.get(short_name=org_name)
            if not Membership.objects.filter(
                user=user, organisation=organisation, role=role
            ).exists():
                area = Region.objects.get(code=area_code) if area_code else None
                membership_grant(user=user, organisation=organisation, role=role, area=area)
        return created

    def _print_logins(self, password: str) -> None:
        codes = [user[3] for user in DEMO_USERS if user[3]]
        areas = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
        rows = [("username", "role", "area", "password")]
        for username, role, _org, area_code, _staff in DEMO_USERS:
            role_label = str(Role(role).label) if role else "Superuser (all rights)"
            area = f"{area_code} {areas.get(area_code, '')}".strip() if area_code else "Banten"
            rows.append((username, role_label, area, password))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        line = "-+-".join("-" * w for w in widths)
        self.stdout.write("")
        self.stdout.write("Demo logins (demo only; a user created earlier keeps its password):")
        for index, row in enumerate(rows):
            self.stdout.write(
                " | ".join(value.ljust(w) for value, w in zip(row, widths, strict=True)).rstrip()
            )
            if index == 0:
                self.stdout.write(line)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Open {URL}"))
