"""Browser test: a field worker records a visit with the network off; it reaches the server once.

Headless Chromium (Debian's chromium + chromium-driver) drives the app served by pytest-django's
live server on localhost (a secure context, so the service worker and crypto.randomUUID work).
Skips when Chromium, chromedriver or selenium is missing. Run it alone with
`.venv/bin/pytest -m e2e tests/e2e`.
"""

import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from households.models import Household, Visit
from opd.models import Role
from opd.services import organisations_load
from regions.services import regions_load
from tests.conftest import MALINGPING, make_user, region
from tests.factories import HouseholdFactory

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=412,915",  # a phone
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser():
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver (/usr/bin/chromium, chromedriver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip)")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="povertycase-e2e-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    # An explicit driver path: Selenium Manager never looks anything up.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def field_worker_and_household(transactional_db):
    regions_load()  # transactional tests start from an empty database
    organisations_load()
    worker = make_user("pendamping_e2e", Role.FIELD_WORKER, "Dinsos Banten", MALINGPING)
    household = HouseholdFactory(desa=region("36.02.01.2002"), monthly_expenditure=1_200_000)
    Household.objects.filter(pk=household.pk).update(
        created_at=timezone.now() - timedelta(days=30)
    )  # overdue for its first visit
    return worker, household


def _network(driver, *, offline: bool) -> None:
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )


def _wait(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _click(driver, element) -> None:
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element
    )


def _waiting(driver) -> str:
    return driver.execute_script(
        "var el = document.querySelector('[data-queue-number]'); return el ? el.textContent : '';"
    )


def _logged_in(browser, live_server, user, settings) -> str:
    """Give the browser `user`'s session; returns the server's base URL (localhost: a secure
    context, so the service worker may install)."""
    client = Client()
    client.force_login(user)
    base = live_server.url.replace("127.0.0.1", "localhost")
    browser.get(f"{base}/health/")
    browser.add_cookie(
        {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies["sessionid"].value}
    )
    return base


def test_a_visit_recorded_offline_reaches_the_server_once(
    browser, live_server, field_worker_and_household, settings
):
    settings.LANGUAGE_CODE = "en"
    worker, household = field_worker_and_household
    base = _logged_in(browser, live_server, worker, settings)

    # The landing page lists the household; the service worker installs and keeps the shell.
    browser.get(f"{base}/")
    assert "/visits/" in browser.current_url
    assert browser.find_element("css selector", "#due-list").text
    assert browser.execute_async_script(
        "var done = arguments[0];navigator.serviceWorker.ready.then(function () { done(true); });"
    )
    browser.get(f"{base}/visits/record/?household={household.pk}")
    _wait(
        lambda: browser.execute_async_script(
            "var done = arguments[0];"
            "caches.keys().then(function (keys) { return Promise.all(keys.map(function (k) {"
            "  return caches.open(k).then(function (c) { return c.match('/visits/record/'); });"
            "})); }).then(function (hits) { done(hits.some(Boolean)); });"
        ),
        what="the service worker's cache",
    )

    # Offline: the visit is kept on the phone, nothing reaches the server.
    _network(browser, offline=True)
    form = browser.find_element("css selector", "[data-visit-form]")
    _click(browser, form.find_element("css selector", "#id_met_head"))
    form.find_element("css selector", "#id_monthly_expenditure").send_keys("850000")
    _click(browser, form.find_element("css selector", "#id_need_water"))
    form.find_element("css selector", "#id_notes").send_keys("Dicatat tanpa sinyal.")
    _click(browser, form.find_element("css selector", "[data-visit-submit]"))
    assert browser.execute_script("return navigator.onLine;") is False
    _wait(lambda: _waiting(browser) == "1", what="1 visit waiting")
    assert browser.find_element("css selector", "[data-queue-panel]").is_displayed()
    assert Visit.objects.count() == 0

    # Online again: the queue is sent (on the "online" event) and the server stores it once.
    _network(browser, offline=False)
    browser.execute_script("window.dispatchEvent(new Event('online'));")
    _wait(lambda: Visit.objects.count() == 1, what="the visit on the server")
    _wait(lambda: _waiting(browser) == "0", what="an empty queue")
    # Sending again (a second tab, a retry) changes nothing.
    browser.execute_async_script(
        "var done = arguments[0]; window.povertycaseVisits.flush().then(function () { done(); });"
    )
    visit = Visit.objects.get()
    assert Visit.objects.count() == 1
    assert visit.household_id == household.pk
    assert visit.worker_id == worker.pk
    assert visit.monthly_expenditure == 850_000
    assert visit.unmet_needs == ["water"]
    assert visit.notes == "Dicatat tanpa sinyal."
    household.refresh_from_db()
    assert household.monthly_expenditure == 850_000

    # Offline again, the app shell still opens (the service worker keeps it), with nothing waiting.
    _network(browser, offline=True)
    browser.get(f"{base}/visits/")
    assert browser.find_element("css selector", "[data-queue-panel]")
    _wait(lambda: _waiting(browser) == "0", what="an empty queue")
    assert Visit.objects.count() == 1


LABELS_OF_ROWS = """
return Array.prototype.map.call(document.querySelectorAll('[data-change-row]'), function (row) {
  return Array.prototype.map.call(row.querySelectorAll('label'), function (label) {
    var control = label.control;
    return {text: label.textContent.trim(), id: label.htmlFor,
            control: control ? control.dataset.f : null,
            sameRow: !!control && control.closest('[data-change-row]') === row};
  });
});
"""


def test_member_change_rows_label_their_own_inputs(
    browser, live_server, field_worker_and_household, settings
):
    from selenium.webdriver.support.select import Select  # the browser fixture checked selenium

    settings.LANGUAGE_CODE = "en"
    worker, household = field_worker_and_household
    member = household.members.order_by("id").first()
    base = _logged_in(browser, live_server, worker, settings)
    browser.get(f"{base}/visits/record/?household={household.pk}")
    form = _wait(lambda: browser.find_element("css selector", "[data-visit-form]"))
    add = form.find_element("css selector", "[data-add-change]")
    for _ in range(3):
        _click(browser, add)
    rows = browser.find_elements("css selector", "[data-change-row]")
    _click(browser, rows[0].find_element("css selector", "[data-remove-change]"))
    _click(browser, add)  # a new row after a removal does not take a number already used

    labelled = browser.execute_script(LABELS_OF_ROWS)
    assert len(labelled) == 3
    ids = [label["id"] for row in labelled for label in row]
    assert len(ids) == len(set(ids)) == 3 * 11
    assert not [i for i in ids if "__row__" in i]
    for row in labelled:
        assert all(label["control"] and label["sameRow"] for label in row), row
    assert labelled[0][0]["control"] == "change"

    # Clicking a label reaches its own row's input, and the visit still carries the change.
    last = browser.find_elements("css selector", "[data-change-row]")[-1]
    Select(last.find_element("css selector", '[data-f="change"]')).select_by_value("work")
    for row in browser.find_elements("css selector", "[data-change-row]")[:-1]:
        _click(browser, row.find_element("css selector", "[data-remove-change]"))
    Select(last.find_element("css selector", '[data-f="member"]')).select_by_value(str(member.pk))
    Select(last.find_element("css selector", '[data-f="work_status"]')).select_by_value("working")
    occupation = last.find_element("css selector", '[data-f="occupation"]')
    label = last.find_element("css selector", f'label[for="{occupation.get_attribute("id")}"]')
    _click(browser, label)
    assert browser.switch_to.active_element == occupation
    occupation.send_keys("Petani")
    _click(browser, form.find_element("css selector", "[data-visit-submit]"))
    _wait(lambda: Visit.objects.count() == 1, what="the visit on the server")
    assert Visit.objects.get().member_changes == [
        {"change": "work", "member": member.pk, "work_status": "working", "occupation": "Petani"}
    ]
