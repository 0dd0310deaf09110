from django.contrib.auth import get_user_model

from povertycase.templatetags.people import person


def test_a_person_is_named_by_full_name_then_username_then_a_dash():
    user = get_user_model()(username="siti", first_name="Siti", last_name="Aminah")
    assert person(user) == "Siti Aminah"
    assert person(get_user_model()(username="budi")) == "budi"
    assert person(None) == "—"
