"""The filter form shared by the list pages (templates/partials/_filters.html): every label names
an input of the form, and a field of several inputs (a date range) is a fieldset with a legend."""

import re

import pytest

LIST_PAGES = [
    "/referrals/",
    "/programmes/",
    "/pledges/",
    "/groups/",
    "/groups/kur/",
    "/groups/graduations/",
    "/groups/follow-ups/",
    "/visits/list/",
]


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def _filter_form(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.text.split('role="search"', 1)[1].split("</form>", 1)[0]


def _controls(html) -> list[str]:
    """The visible inputs and selects (their opening tags)."""
    tags = re.findall(r"<(?:input|select)\b[^>]*>", html)
    return [tag for tag in tags if 'type="hidden"' not in tag]


@pytest.mark.parametrize("url", LIST_PAGES)
def test_every_filter_input_is_named_for_a_person(url, client, province_admin):
    client.force_login(province_admin)
    form = _filter_form(client, url)
    assert 'for=""' not in form
    targets = re.findall(r'<label[^>]* for="([^"]*)"', form)
    assert targets
    for target in targets:
        assert form.count(f'id="{target}"') == 1, target
    grouped = [tag for group in re.findall(r"<fieldset.*?</fieldset>", form, re.S)
               for tag in _controls(group)]  # fmt: skip
    for tag in _controls(form):
        ident = re.search(r' id="([^"]+)"', tag)
        # By its label, or inside a fieldset (named by its legend) with a name of its own.
        assert (ident and ident[1] in targets) or (tag in grouped and "aria-label=" in tag), tag


def test_a_range_field_is_a_fieldset_named_by_its_legend(client, province_admin):
    client.force_login(province_admin)
    form = _filter_form(client, "/visits/list/")
    groups = re.findall(r"<fieldset.*?</fieldset>", form, re.S)
    assert len(groups) == 1
    assert re.search(r"<legend[^>]*>Visited between</legend>", groups[0])
    inputs = re.findall(r'<input type="date" name="(visited_at_\w+)"', groups[0])
    assert inputs == ["visited_at_after", "visited_at_before"]


@pytest.mark.parametrize("url", [*LIST_PAGES, "/households/", "/households/new/"])
def test_no_select_offers_a_row_of_dashes(url, client, province_admin):
    """An empty choice says what it means ("All" in a filter, "Choose…" in a form)."""
    client.force_login(province_admin)
    response = client.get(url)
    assert response.status_code == 200
    assert "---------" not in response.text
    assert ">All<" in response.text or ">Choose…<" in response.text
