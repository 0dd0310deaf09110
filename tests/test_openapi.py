"""The OpenAPI schema generates cleanly, and the docs page works offline (no CDN)."""

import json
import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
ABSOLUTE = re.compile(r"""(?:https?:)?//[\w.-]+""", re.IGNORECASE)


@pytest.mark.django_db
def test_schema_generates_without_warnings_or_errors(tmp_path):
    target = tmp_path / "schema.json"
    # --fail-on-warn raises on any warning (e.g. an untyped field or an enum name collision)
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(target),
    )
    schema = json.loads(target.read_text())
    paths = schema["paths"]
    for path in (
        "/api/v1/regions/",
        "/api/v1/regions/{code}/",
        "/api/v1/households/",
        "/api/v1/households/{id}/",
        "/api/v1/members/",
        "/api/v1/members/{id}/",
        "/api/v1/members/{id}/make-head/",
        "/api/v1/members/{id}/leave/",
    ):
        assert path in paths, path
    assert "delete" not in paths["/api/v1/households/{id}/"]
    assert "put" not in paths["/api/v1/households/{id}/"]
    household = paths["/api/v1/households/{id}/"]
    assert household["get"]["parameters"][0]["schema"]["type"] == "integer"
    assert "409" in household["patch"]["responses"]
    components = schema["components"]["schemas"]
    assert components["HouseholdStatusEnum"]["enum"] == [
        "active",
        "moved",
        "dissolved",
        "duplicate",
    ]
    assert "removed" in components["MemberStatusEnum"]["enum"]
    members = components["HouseholdCreateRequest"]["properties"]["members"]
    assert members["items"]["$ref"].endswith("/MemberInputRequest")
    # A visit's member changes are a list (an object is refused), as the schema says.
    changes = components["VisitCreateRequest"]["properties"]["member_changes"]
    assert (changes["type"], changes["items"]["type"]) == ("array", "object")
    # A reason the service requires is documented as required, and so is the 400 it gives.
    assert components["ReferralReasonRequest"]["required"] == ["reason"]
    assert "400" in paths["/api/v1/referrals/{id}/reject/"]["post"]["responses"]
    assert "400" in paths["/api/v1/pledges/{id}/cancel/"]["post"]["responses"]


@pytest.mark.django_db
def test_schema_endpoint_serves_the_api(client):
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    assert "/api/v1/households/" in response.json()["paths"]


@pytest.mark.django_db
def test_docs_page_uses_only_local_static_files(client):
    response = client.get(reverse("api-docs"))
    html = response.content.decode()
    assert response.status_code == 200
    assets = ASSET.findall(html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith("swagger-ui.css") for a in assets)
    static = "/" + settings.STATIC_URL.strip("/") + "/"
    for asset in assets:
        assert asset.startswith(static), asset
    assert not ABSOLUTE.findall(html), ABSOLUTE.findall(html)
    # the static files are really there (served by the sidecar package, not a CDN)
    for asset in assets:
        assert finders.find(asset.removeprefix(static)), asset
