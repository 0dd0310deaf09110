"""A CSR partner gets no personal data from any page or endpoint (issue 4's acceptance).

The test walks EVERY URL pattern of the project's resolver (so the pages and endpoints other
branches add are covered without touching this file): each pattern's regex is turned into a
concrete path (``django.utils.regex_helper.normalize``, as ``reverse`` does), every keyword
argument is filled with ids of seeded objects (``pk``, ``id``, ``object_id`` and any unknown
name: the ids of the seeded rows of every model until one is not a 404; ``code``: region and
programme codes; ``format``: json), and the path is requested as the CSR partner with GET, POST
(and PATCH under /api/). No answer may contain a seeded NIK, No. KK (in clear or masked), member
name or household address, none may be a server error, and the register's pages and endpoints
answer 403/404 (or an empty list).
"""

import json
from itertools import islice

import pytest
from django.apps import apps
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils import timezone
from django.utils.regex_helper import normalize

from households.identity import mask
from households.models import Household, Member
from interventions import pledges, referrals
from interventions.models import RuleSet
from opd.models import Organisation, OrganisationKind
from tests.factories import HouseholdFactory, MemberFactory

from .interventions.conftest import deliver, new_pledge
from .interventions.test_referrals import make_programme

APPS = ("regions", "opd", "households", "interventions")
#: Pages and endpoints of the register and the case work: a CSR partner gets 403 or 404 there
#: (an API list may answer 200 with no rows).
PERSONAL_PREFIXES = (
    "/households/",
    "/pathway/households/",
    "/referrals/",
    "/api/v1/households/",
    "/api/v1/members/",
    "/api/v1/referrals/",
    "/api/v1/deliveries/",
    "/api/v1/cases/",
    "/api/v1/assessments/",
    "/api/v1/transitions/",
)
ID_NAMES = ("pk", "id", "object_id")


def url_patterns(resolver=None, prefix=""):
    """(regex of the whole path, pattern) for every URL pattern, depth first."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        regex = prefix + entry.pattern.regex.pattern.lstrip("^")
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, regex)
        elif isinstance(entry, URLPattern):
            yield regex, entry


@pytest.fixture
def seeded(province_admin, opd_officer, csr_partner, desa_lebak, desa_pandeglang):
    """Households with members in two districts, referrals to an agency, deliveries paid by the
    CSR partner's pledge, another company's pledge: something behind every kind of id."""
    today = timezone.localdate()
    programme = make_programme("T-WALK", "Dinkes Banten", ["health"])
    company = Organisation.objects.get(short_name="PT Contoh")
    other = Organisation.objects.create(
        name="PT Lain Sejahtera", short_name="PT Lain", kind=OrganisationKind.CSR
    )
    own = new_pledge(province_admin, company, programme=programme)
    pledges.pledge_activate(actor=province_admin, pledge=own)
    pledges.disbursement_record(
        actor=province_admin, pledge=own, disbursed_on=today, amount=900_000
    )
    new_pledge(province_admin, other, title="Milik PT Lain")
    households = []
    for desa in (desa_lebak, desa_lebak, desa_lebak, desa_pandeglang):
        household = HouseholdFactory(desa=desa)
        MemberFactory(household=household)
        households.append(household)
        referral = referrals.referral_create(
            actor=province_admin, household=household, programme=programme, need="health"
        )
        referrals.referral_accept(actor=opd_officer, referral=referral)
        deliver(opd_officer, referral, own, value=100_000)
    return {"households": households, "own": own, "programme": programme}


def personal_values(households) -> set[str]:
    values = set()
    for household in Household.objects.filter(pk__in=[h.pk for h in households]):
        values |= {household.no_kk, mask(household.no_kk), household.address}
    for member in Member.objects.filter(household__in=households):
        values |= {member.nik, mask(member.nik), member.name}
    return {value for value in values if value}


def seeded_ids() -> list[str]:
    """The first and last id of every model of the project's apps (what a kwarg may name)."""
    ids = []
    for label in APPS:
        for model in apps.get_app_config(label).get_models():
            rows = model._default_manager.order_by("pk").values_list("pk", flat=True)
            for pk in (rows.first(), rows.last()):
                if isinstance(pk, int) and str(pk) not in ids:
                    ids.append(str(pk))
    return ids


def candidates(name: str, ids: list[str], seeded) -> list[str]:
    if name == "format":
        return ["json"]
    if name == "code":
        return ["36.02", "36.02.01", seeded["programme"].code]
    if name == "version":
        return [str(v) for v in RuleSet.objects.values_list("version", flat=True)] or ["1"]
    if name == "app_label":
        return ["interventions"]
    return ids  # pk, id, object_id and any name this test does not know


def paths_for(regex: str, ids: list[str], seeded):
    """Concrete paths the pattern resolves, one per candidate of its first parameter."""
    possibilities = normalize("^" + regex)
    if not possibilities:
        return
    template, params = possibilities[0]
    if not params:
        path = "/" + template
        yield path
        return
    first, others = params[0], {p: candidates(p, ids, seeded)[0] for p in params[1:]}
    for value in candidates(first, ids, seeded):
        path = "/" + template % {first: value, **others}
        try:
            resolve(path)
        except Resolver404:
            continue
        yield path


def body(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(islice(response.streaming_content, 1000))
    else:
        content = response.content
    return content.decode("utf-8", errors="replace")


def is_empty_list(response) -> bool:
    try:
        data = json.loads(body(response))
    except ValueError:
        return False
    rows = data.get("results", data) if isinstance(data, dict) else data
    return rows == [] or rows == {}


@pytest.mark.django_db
def test_a_csr_partner_gets_no_personal_data_anywhere(client, csr_partner, seeded):
    client.raise_request_exception = False
    secrets = personal_values(seeded["households"])
    assert len(secrets) >= 4 * 6
    ids = seeded_ids()
    visited = {}
    problems = []

    def request(method, path):
        client.force_login(csr_partner)  # a POST to the logout page must not end the walk
        if method == "patch":
            response = client.patch(path, data="{}", content_type="application/json")
        else:
            response = getattr(client, method)(path)
        text = body(response)
        if response.status_code >= 500:
            problems.append(f"{method.upper()} {path}: {response.status_code}")
        leaked = [value for value in secrets if value in text]
        if leaked:
            problems.append(f"{method.upper()} {path}: shows {leaked[:3]}")
        return response

    patterns = list(url_patterns())
    assert len(patterns) > 100
    for regex, _pattern in patterns:
        chosen = None
        for path in paths_for(regex, ids, seeded):
            chosen = path
            response = request("get", path)
            visited[path] = response
            if response.status_code != 404:
                break
        if chosen is None:
            continue
        request("post", chosen)
        if chosen.startswith("/api/"):
            request("patch", chosen)
        if chosen.startswith(PERSONAL_PREFIXES):
            response = visited[chosen]
            allowed = response.status_code in (403, 404, 405) or (
                response.status_code == 200 and is_empty_list(response)
            )
            if not allowed:
                problems.append(f"GET {chosen}: {response.status_code} on a personal endpoint")
    assert problems == []
    # The walk reached the CSR partner's own pages and saw real figures there.
    own = seeded["own"]
    assert visited[f"/pledges/{own.pk}/"].status_code == 200
    dashboard = body(visited["/pledges/dashboard/"])
    assert "Rp 900.000" in dashboard
    assert visited[f"/api/v1/pledges/{own.pk}/"].status_code == 200
    assert visited["/api/v1/households/"].status_code == 200  # an empty list
    assert visited["/households/"].status_code == 403
