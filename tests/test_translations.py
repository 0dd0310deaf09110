"""The Indonesian catalogue is complete and used: Indonesian by default, English on request."""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from households.identity import check_nik
from households.models import Household

LC_MESSAGES = Path(settings.BASE_DIR) / "locale" / "id" / "LC_MESSAGES"
PO_FILE = LC_MESSAGES / "django.po"
MO_FILE = LC_MESSAGES / "django.mo"

# "%(name)s", "%s", "%d", "%r", "%%", "{name}", "{0}" and HTML tags must survive translation.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdirf]|%[sdirf%]|\{\w*\}|</?[a-zA-Z][^>]*>")


# --- a small .po reader (no polib needed) -----------------------------------------------------


def _unquote(text: str) -> str:
    return ast.literal_eval(text)


def read_po(path: Path) -> list[dict]:
    """Entries as dicts: flags, msgctxt, msgid, msgid_plural, msgstr (list: one per form)."""
    entries: list[dict] = []
    entry: dict | None = None
    field: tuple[str, int] | None = None

    def finish():
        if entry is not None and "msgid" in entry:
            entries.append(entry)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgctxt": None, "msgid_plural": None, "msgstr": {}}
        if line.startswith("#~"):
            entry["obsolete"] = True
            continue
        if line.startswith("#,"):
            entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")$", line)
        if match:
            keyword, index, value = match.groups()
            if keyword == "msgstr":
                field = ("msgstr", int(index or 0))
                entry["msgstr"][field[1]] = _unquote(value)
            else:
                field = (keyword, 0)
                entry[keyword] = _unquote(value)
        elif line.startswith('"') and field is not None:
            if field[0] == "msgstr":
                entry["msgstr"][field[1]] += _unquote(line)
            else:
                entry[field[0]] += _unquote(line)
        else:
            raise AssertionError(f"unreadable .po line: {raw!r}")
    finish()
    return [e for e in entries if not e.get("obsolete")]


@pytest.fixture(scope="module")
def po_entries():
    assert PO_FILE.exists(), f"missing {PO_FILE}"
    return read_po(PO_FILE)


@pytest.fixture(scope="module")
def messages(po_entries):
    return [e for e in po_entries if e["msgid"] != ""]


def _label(entry: dict) -> str:
    return repr(entry["msgid"])[:80]


# --- the catalogue ----------------------------------------------------------------------------


def test_header_declares_indonesian_with_one_plural_form(po_entries):
    header = po_entries[0]
    assert header["msgid"] == ""
    assert "fuzzy" not in header["flags"]
    assert "Language: id\n" in header["msgstr"][0]
    assert "Plural-Forms: nplurals=1; plural=0;" in header["msgstr"][0]
    assert "charset=UTF-8" in header["msgstr"][0]


def test_catalogue_is_not_trivially_small(messages):
    assert len(messages) > 500


def test_every_message_is_translated(messages):
    untranslated = [_label(e) for e in messages if not all(e["msgstr"].values())]
    assert untranslated == [], f"{len(untranslated)} untranslated: {untranslated[:10]}"


def test_no_message_is_fuzzy(messages):
    fuzzy = [_label(e) for e in messages if "fuzzy" in e["flags"]]
    assert fuzzy == [], f"{len(fuzzy)} fuzzy: {fuzzy[:10]}"


def test_plural_messages_fill_the_single_indonesian_form(messages):
    plurals = [e for e in messages if e["msgid_plural"] is not None]
    assert plurals
    wrong = [_label(e) for e in plurals if set(e["msgstr"]) != {0} or not e["msgstr"][0]]
    assert wrong == []


def test_translations_keep_every_placeholder(messages):
    wrong = []
    for e in messages:
        expected = set(PLACEHOLDER.findall(e["msgid"]))
        if e["msgid_plural"] is not None:
            expected |= set(PLACEHOLDER.findall(e["msgid_plural"]))
        for text in e["msgstr"].values():
            if set(PLACEHOLDER.findall(text)) != expected:
                wrong.append((_label(e), sorted(expected), sorted(PLACEHOLDER.findall(text))))
    assert wrong == []


def test_compiled_catalogue_matches_the_po(messages):
    """django.mo is committed (CI does not compile): it must hold every current translation."""
    assert MO_FILE.exists(), f"missing {MO_FILE}: run manage.py compilemessages"
    with MO_FILE.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog
    stale = []
    for e in messages:
        msgid = e["msgid"] if e["msgctxt"] is None else f"{e['msgctxt']}\x04{e['msgid']}"
        key = (msgid, 0) if e["msgid_plural"] is not None else msgid
        if catalog.get(key) != e["msgstr"][0]:
            stale.append(_label(e))
    assert stale == [], f"django.mo is stale for {len(stale)}: {stale[:10]}"


# --- strings in code --------------------------------------------------------------------------


def test_model_names_follow_the_active_language():
    with translation.override("id"):
        assert str(Household._meta.verbose_name) == "keluarga"
        assert str(Household._meta.get_field("desil").verbose_name) == "desil kesejahteraan"
    with translation.override("en"):
        assert str(Household._meta.verbose_name) == "household"
        assert str(Household._meta.get_field("desil").verbose_name) == "welfare decile (desil)"


def test_nik_error_is_indonesian_by_default_and_english_on_request():
    result = check_nik("360101150382000", province_codes={"36"})  # 15 digits
    assert not result.ok
    message = result.errors[0].message
    with translation.override("id"):
        indonesian = str(message)
    with translation.override("en"):
        english = str(message)
    assert indonesian.startswith("NIK harus tepat 16 digit")
    assert "15 karakter" in indonesian
    assert english.startswith("NIK must have exactly 16 digits")
    assert "15 characters" in english


def test_plural_translation_uses_the_single_form():
    from django.utils.translation import ngettext

    with translation.override("id"):
        for count in (1, 2, 5):
            text = ngettext("%(counter)s household", "%(counter)s households", count)
            assert text % {"counter": count} == f"{count} keluarga"


# --- pages ------------------------------------------------------------------------------------


def _list_page(client, **headers):
    response = client.get(reverse("households:list"), **headers)
    assert response.status_code == 200
    return response


def test_household_list_is_indonesian_by_default(client, province_admin):
    client.force_login(province_admin)
    response = _list_page(client)
    assert response["Content-Language"] == "id"
    page = response.content.decode()
    assert "Keluarga" in page
    assert "Daftarkan keluarga" in page
    assert "Register household" not in page


def test_household_list_is_english_when_the_browser_asks(client, province_admin):
    client.force_login(province_admin)
    response = _list_page(client, HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "en"
    page = response.content.decode()
    assert "Households" in page
    assert "Register household" in page
    assert "Daftarkan keluarga" not in page


def test_language_switch_sets_a_cookie_that_wins(client, province_admin):
    client.force_login(province_admin)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    page = _list_page(client, HTTP_ACCEPT_LANGUAGE="id").content.decode()
    assert "Register household" in page

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "id"
    page = _list_page(client, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Daftarkan keluarga" in page
