"""Error pages: a person who reaches a refusal or a missing page keeps the menu and a way on."""

from django.conf import settings
from django.urls import reverse
from django.views.defaults import server_error

from tests.interventions.tier3 import bank_officer


def test_a_refused_page_explains_itself_in_indonesian_with_the_menu(client, csr_partner):
    client.force_login(csr_partner)
    response = client.get(reverse("visits:supervision"), HTTP_ACCEPT_LANGUAGE="id")
    assert response.status_code == 403
    page = response.text
    assert "Peran Anda tidak mengizinkan halaman atau tindakan ini." in page
    assert 'name="viewport"' in page  # readable on a phone
    assert reverse("logout") in page  # the navbar is there
    assert f'href="{reverse("home")}"' in page


def test_a_missing_page_says_so_in_english_when_asked(client, province_admin):
    client.force_login(province_admin)
    response = client.get("/households/999999999/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert "This page does not exist, or it is outside your area." in response.text
    assert 'lang="en"' in response.text


def test_the_server_error_page_needs_no_request_context(rf):
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert 'name="viewport"' in page
    assert 'href="/"' in page
    assert "{%" not in page
    assert "{{" not in page


def test_agency_and_bank_officers_start_from_their_work(client, opd_officer):
    client.force_login(opd_officer)
    assert client.get(reverse("home")).url == reverse("referrals:inbox")
    client.force_login(bank_officer("BRI"))
    assert client.get(reverse("home")).url == reverse("groups:kur_board")
    assert client.get(reverse("groups:kur_board")).status_code == 200


def test_every_page_names_its_icon(client, csr_partner):
    client.force_login(csr_partner)
    page = client.get(reverse("pledges:dashboard")).text
    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert (settings.BASE_DIR / "static" / "favicon.svg").is_file()


def test_the_api_link_is_for_administrators(client, province_admin, field_worker_lebak):
    docs = f'href="{reverse("api-docs")}"'
    assert docs in client_page(client, province_admin)
    assert docs not in client_page(client, field_worker_lebak)


def client_page(client, user) -> str:
    client.force_login(user)
    return client.get(reverse("households:list")).text
