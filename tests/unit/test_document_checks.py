"""Document checks (expiry, minimum age, expected data) and the decision
rule that folds them into /ips (IPS_DOCUMENT off | read | enforce)."""

from datetime import date

import pytest

from chalicelib.config.settings import Settings, load_settings
from chalicelib.core.errors import ApiError
from chalicelib.decision.policy import Decision, Outcome, document_reasons, with_document
from chalicelib.documents.base import DocumentFields, DocumentRead, DocumentResult
from chalicelib.documents.checks import Expected, age_on, names_match, run_checks
from chalicelib.flows.payload import parse_expected

TODAY = date(2026, 11, 27)


def passport(**changes) -> DocumentRead:
    fields = {"surname": "MUELLER", "given_names": "ANNA MARIA", "document_number": "L898902C3",
              "nationality": "DEU", "issuing_country": "DEU", "date_of_birth": date(2008, 11, 27),
              "expiry_date": date(2030, 1, 1), "sex": "F"}
    check_digits = changes.pop("check_digits", True)
    fields.update(changes)
    return DocumentRead(read=True, source="mrz", type="passport", mrz_format="TD3",
                        fields=DocumentFields(**fields), check_digits=check_digits)


def test_all_pass():
    result = run_checks(passport(), TODAY, min_age=18)
    assert result.to_json()["checks"] == {"check_digits": "pass", "expired": False,
                                          "minimum_age": "pass", "expected_data": None}
    assert document_reasons(result) == []


@pytest.mark.parametrize("expiry, expired", [
    (date(2026, 11, 26), True), (date(2026, 11, 27), False), (date(2026, 11, 28), False)])
def test_expired_against_injected_today(expiry, expired):
    assert run_checks(passport(expiry_date=expiry), TODAY).checks.expired is expired


@pytest.mark.parametrize("birth, verdict", [
    (date(2008, 11, 27), "pass"),   # 18 today
    (date(2008, 11, 28), "fail"),   # 18 tomorrow
    (date(1974, 8, 12), "pass"),
])
def test_minimum_age_on_the_birthday(birth, verdict):
    assert run_checks(passport(date_of_birth=birth), TODAY, min_age=18).checks.minimum_age == verdict


def test_minimum_age_unset_or_unknown_is_null():
    assert run_checks(passport(), TODAY, min_age=None).checks.minimum_age is None
    assert run_checks(passport(date_of_birth=None), TODAY, min_age=18).checks.minimum_age is None
    assert age_on(date(2000, 2, 29), date(2026, 2, 28)) == 25


@pytest.mark.parametrize("typed, printed", [
    ("Müller", "MUELLER"),            # ICAO transliteration Ü -> UE
    ("müller", "MULLER"),             # or the accent simply dropped
    ("García", "GARCIA"),
    ("maria anna", "ANNA MARIA"),     # given-name order
    ("Anna-Maria", "ANNA MARIA"),     # hyphen as the MRZ's "<"
    ("O'Neil", "O NEIL"),
    ("Bäckström", "BAECKSTROEM"),
    ("Østergaard", "OESTERGAARD"),
])
def test_names_match_tolerantly(typed, printed):
    assert names_match(typed, printed)


@pytest.mark.parametrize("typed, printed", [("Muller", "MILLER"), ("Anna", "ANNA MARIA"),
                                            ("Eriksson", "ERIKSEN")])
def test_different_names_do_not_match(typed, printed):
    assert not names_match(typed, printed)


def test_expected_data_pass_and_fail():
    good = Expected("Müller", "maria anna", date(2008, 11, 27))
    assert run_checks(passport(), TODAY, expected=good).checks.expected_data == "pass"
    wrong_birth = Expected("Müller", None, date(2008, 11, 28))
    result = run_checks(passport(), TODAY, expected=wrong_birth)
    assert result.checks.expected_data == "fail"
    assert document_reasons(result) == ["EXPECTED_DATA_MISMATCH"]
    assert run_checks(passport(), TODAY, expected=Expected()).checks.expected_data is None


def test_unread_document_has_empty_fields_and_null_checks():
    result = run_checks(DocumentRead.unread("timeout"), TODAY, min_age=18,
                        expected=Expected("X", None, None))
    assert result.to_json() == {
        "read": False, "source": None, "type": "unknown", "mrz_format": None, "fields": {},
        "checks": {"check_digits": None, "expired": None, "minimum_age": None,
                   "expected_data": None},
        "reason": "timeout"}
    assert document_reasons(result) == ["DOCUMENT_UNREADABLE"]


def test_document_json_is_the_contract():
    body = run_checks(passport(expiry_date=date(2012, 4, 15), check_digits=False), TODAY,
                      min_age=18).to_json()
    assert body == {
        "read": True, "source": "mrz", "type": "passport", "mrz_format": "TD3",
        "fields": {"surname": "MUELLER", "given_names": "ANNA MARIA",
                   "document_number": "L898902C3", "nationality": "DEU",
                   "issuing_country": "DEU", "date_of_birth": "2008-11-27",
                   "expiry_date": "2012-04-15", "sex": "F"},
        "checks": {"check_digits": "fail", "expired": True, "minimum_age": "pass",
                   "expected_data": None}}


def test_log_fields_carry_no_personal_data():
    logged = str(run_checks(passport(), TODAY, min_age=18).log_fields())
    for value in ("MUELLER", "ANNA", "L898902C3", "2008", "2030"):
        assert value not in logged


def settings(mode: str, **env: str) -> Settings:
    return load_settings({"IPS_DOCUMENT": mode, **env})


def apply(face: str, result, s: Settings) -> tuple[str, list[str]]:
    """(decision, reasons) once the document's checks are folded in."""
    decision = with_document(Decision(Outcome(face)), result, s.documents)
    return decision.outcome, list(decision.reasons)


EXPIRED = run_checks(passport(expiry_date=date(2020, 1, 1)), TODAY)
BAD_DIGITS = run_checks(passport(check_digits=False), TODAY)
UNREAD = run_checks(DocumentRead.unread("unreadable"), TODAY)
GOOD = run_checks(passport(), TODAY)


@pytest.mark.parametrize("mode, face, result, decision, reasons", [
    ("read", "match", EXPIRED, "match", []),             # read: faces only
    ("off", "match", None, "match", []),
    ("enforce", "match", GOOD, "match", []),
    ("enforce", "match", EXPIRED, "no_match", ["DOCUMENT_EXPIRED"]),
    ("enforce", "match", BAD_DIGITS, "review", ["DOCUMENT_CHECK_DIGITS"]),
    ("enforce", "match", UNREAD, "review", ["DOCUMENT_UNREADABLE"]),
    ("enforce", "review", BAD_DIGITS, "review", ["DOCUMENT_CHECK_DIGITS"]),
    ("enforce", "no_match", GOOD, "no_match", []),       # a check never raises a decision
    ("enforce", "no_match", UNREAD, "no_match", ["DOCUMENT_UNREADABLE"]),
])
def test_decision_rule(mode, face, result, decision, reasons):
    assert apply(face, result, settings(mode)) == (decision, reasons)


def test_decision_rule_settings():
    assert apply("match", EXPIRED, settings("enforce", IPS_DOCUMENT_FAILED="review")) == (
        "review", ["DOCUMENT_EXPIRED"])
    assert apply("match", UNREAD, settings("enforce", IPS_DOCUMENT_UNREADABLE="ignore")) == (
        "match", [])
    under_age = run_checks(passport(date_of_birth=date(2010, 1, 1)), TODAY, min_age=18)
    assert apply("match", under_age, settings("enforce")) == ("no_match", ["UNDER_MINIMUM_AGE"])


def test_document_settings_parse_and_refuse_bad_values():
    s = load_settings({"IPS_DOCUMENT": "enforce", "IPS_MIN_AGE": "21"})
    assert (s.documents.mode, s.documents.min_age, s.documents.unreadable) == ("enforce", 21, "review")
    assert load_settings({}).documents.mode == "read" and load_settings({}).documents.min_age is None
    for env in ({"IPS_DOCUMENT": "strict"}, {"IPS_MIN_AGE": "eighteen"},
                {"IPS_DOCUMENT_FAILED": "maybe"}):
        with pytest.raises(ValueError):
            load_settings(env)


@pytest.mark.parametrize("payload, expected", [
    ({}, None),
    ({"expected": {"surname": "Müller"}}, Expected("Müller", None, None)),
    ({"expected": {"date_of_birth": "1974-08-12", "given_names": " Anna "}},
     Expected(None, "Anna", date(1974, 8, 12))),
])
def test_parse_expected(payload, expected):
    assert parse_expected(payload) == expected


@pytest.mark.parametrize("value", ["Müller", [1], {"surname": 3}, {"date_of_birth": "12/08/1974"},
                                   {"given_names": "x" * 201}])
def test_parse_expected_refuses_wrong_shapes(value):
    with pytest.raises(ApiError) as caught:
        parse_expected({"expected": value})
    assert (caught.value.status, caught.value.code, caught.value.field) == (
        400, "INVALID_FIELD_TYPE", "expected")


def test_result_without_document_keeps_face_decision():
    assert apply("review", DocumentResult(DocumentRead.unread("disabled")), settings("read")) == (
        "review", [])
