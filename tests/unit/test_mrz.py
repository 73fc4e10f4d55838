"""ICAO 9303 MRZ parsing: check digits, TD1/TD2/TD3 layouts, OCR corrections
made by field type before the digits are checked, two-digit years resolved
against an injected today."""

import csv
from datetime import date
from pathlib import Path

import pytest

from chalicelib.documents.mrz import (
    check_digit,
    clean_line,
    find_mrz,
    parse_mrz,
    read_mrz,
    resolve_year,
)

TODAY = date(2026, 11, 27)
# ICAO 9303 Part 4 Appendix A (TD3), Part 5 Appendix A (TD1), Part 6 (TD2): the Utopia specimens.
TD3 = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
       "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
TD2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
       "D231458907UTO7408122F1204159<<<<<<<6"]
TD1 = ["I<UTOD231458907<<<<<<<<<<<<<<<",
       "7408122F1204159UTO<<<<<<<<<<<6",
       "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]


@pytest.mark.parametrize("data, digit", [
    ("L898902C3", "6"), ("740812", "2"), ("120415", "9"), ("ZE184226B<<<<<", "1"),
    ("D23145890", "7"), ("<<<<<<", "0"), ("520727", "3"),
])
def test_check_digit_7_3_1(data, digit):
    assert check_digit(data) == digit


def test_td3_specimen_every_field_and_digit():
    mrz = parse_mrz("TD3", TD3, TODAY)
    assert (mrz.format, mrz.document_type, mrz.document_code) == ("TD3", "passport", "P")
    assert (mrz.surname, mrz.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert (mrz.document_number, mrz.nationality, mrz.issuing_country) == ("L898902C3", "UTO", "UTO")
    assert (mrz.date_of_birth, mrz.expiry_date, mrz.sex) == (date(1974, 8, 12), date(2012, 4, 15), "F")
    assert mrz.digits == {"document_number": True, "date_of_birth": True, "expiry_date": True,
                          "personal_number": True, "composite": True}
    assert mrz.check_digits_ok


def test_td2_specimen():
    mrz = parse_mrz("TD2", TD2, TODAY)
    assert (mrz.document_type, mrz.document_number, mrz.date_of_birth) == (
        "id_card", "D23145890", date(1974, 8, 12))
    assert mrz.check_digits_ok and set(mrz.digits) == {
        "document_number", "date_of_birth", "expiry_date", "composite"}


def test_td1_specimen():
    mrz = parse_mrz("TD1", TD1, TODAY)
    assert (mrz.surname, mrz.given_names, mrz.document_number) == ("ERIKSSON", "ANNA MARIA", "D23145890")
    assert (mrz.expiry_date, mrz.nationality) == (date(2012, 4, 15), "UTO")
    assert mrz.check_digits_ok


def test_td1_long_document_number_continues_in_optional_data():
    # ICAO 9303 Part 5 4.2.4: "<" in the check-digit position, the rest of the
    # number and its check digit in the optional data.
    number = "D23145890123"
    one = "I<UTO" + number[:9] + "<" + number[9:] + check_digit(number) + "<" * 11
    two = "7408122F1204159UTO<<<<<<<<<<<"
    two += check_digit(one[5:30] + two[0:7] + two[8:15] + two[18:29])
    mrz = parse_mrz("TD1", [one, two, TD1[2]], TODAY)
    assert mrz.document_number == number
    assert mrz.check_digits_ok


@pytest.mark.parametrize("fmt, lines, row, col, digit", [
    ("TD3", TD3, 1, 9, "document_number"), ("TD3", TD3, 1, 19, "date_of_birth"),
    ("TD3", TD3, 1, 27, "expiry_date"), ("TD3", TD3, 1, 42, "personal_number"),
    ("TD3", TD3, 1, 43, "composite"),
    ("TD2", TD2, 1, 9, "document_number"), ("TD2", TD2, 1, 35, "composite"),
    ("TD1", TD1, 0, 14, "document_number"), ("TD1", TD1, 1, 6, "date_of_birth"),
    ("TD1", TD1, 1, 14, "expiry_date"), ("TD1", TD1, 1, 29, "composite"),
])
def test_each_wrong_check_digit_is_caught(fmt, lines, row, col, digit):
    spoiled = list(lines)
    wrong = str((int(spoiled[row][col]) + 5) % 10)
    spoiled[row] = spoiled[row][:col] + wrong + spoiled[row][col + 1:]
    mrz = parse_mrz(fmt, spoiled, TODAY)
    assert mrz.digits[digit] is False
    assert not mrz.check_digits_ok


def test_ocr_confusions_corrected_by_field_type_before_checking():
    # Letters in digit fields (O for 0, I for 1, B for 8, S for 5) and digits
    # in letter fields (0 for O) are what OCR gets wrong on OCR-B.
    ocr = ["P<UT0ERIKSS0N<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
           "L898902C36UT07408I22F12O4IS9ZE184226B<<<<<IO"]
    mrz = parse_mrz("TD3", ocr, TODAY)
    assert (mrz.issuing_country, mrz.nationality, mrz.surname) == ("UTO", "UTO", "ERIKSSON")
    assert (mrz.date_of_birth, mrz.expiry_date) == (date(1974, 8, 12), date(2012, 4, 15))
    assert mrz.check_digits_ok


def test_correction_never_makes_a_wrong_digit_pass():
    # A real misprint in a digit field stays wrong: the correction maps
    # letters to digits only, it never searches for a digit that passes.
    ocr = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
           "L898902C36UTO7408132F1204159ZE184226B<<<<<10"]
    mrz = parse_mrz("TD3", ocr, TODAY)
    assert mrz.date_of_birth == date(1974, 8, 13)
    assert mrz.digits["date_of_birth"] is False


def test_filler_misread_as_k_and_lookalike_chevrons():
    lines = ["IDD<<T220001293KK<<<<<<<<<<<<<", "6408125<2010315DK<<<<<<<<<<<<4",
             "MUSTERMANN<<ERIKA<<<<<<<<<<<<<"]
    mrz = parse_mrz("TD1", lines, TODAY)
    assert mrz.document_number == "T22000129" and mrz.check_digits_ok
    assert (mrz.nationality, mrz.issuing_country) == ("D", "D")
    assert clean_line("P<D«MUSTERMANN くくく") == "P<D<<MUSTERMANN<<<"
    assert clean_line("ＰAPΑDOΡOULOS") == "PAPADOPOULOS"  # fullwidth, Greek look-alikes


@pytest.mark.parametrize("yymmdd, future, expected", [
    ("740812", False, date(1974, 8, 12)),
    ("261127", False, date(2026, 11, 27)),   # born today
    ("261128", False, date(1926, 11, 28)),   # tomorrow's date: a birth date is in the past
    ("050101", False, date(2005, 1, 1)),
    ("120415", True, date(2012, 4, 15)),
    ("350101", True, date(2035, 1, 1)),      # expiry may be in the future
    ("991231", True, date(1999, 12, 31)),    # but not 73 years ahead
    ("761301", True, None), ("7408<<", False, None),
])
def test_two_digit_years_resolved_against_injected_today(yymmdd, future, expected):
    assert resolve_year(yymmdd, TODAY, future) == expected


def test_year_resolution_moves_with_today():
    assert resolve_year("300101", date(2026, 1, 1), False) == date(1930, 1, 1)
    assert resolve_year("300101", date(2031, 1, 1), False) == date(2030, 1, 1)


def test_find_mrz_among_other_ocr_lines():
    lines = ["UTOPIA", "Passport/ Passeport", "ERIKSSON", "12 AUGUST/AOUT 74",
             "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10<"]
    found = find_mrz(lines)
    assert found is not None
    assert found[0] == "TD3" and [len(line) for line in found[1]] == [44, 44]
    assert read_mrz(lines, TODAY).document_number == "L898902C3"


def test_find_mrz_td1_and_none():
    assert find_mrz(["header", *TD1])[0] == "TD1"
    assert find_mrz(["DOB 09/21/1970", "EXP 01/20/2028"]) is None
    assert read_mrz([], TODAY) is None


def test_wrong_line_shape_is_refused():
    with pytest.raises(ValueError):
        parse_mrz("TD3", TD2, TODAY)


SHARED_DOCUMENTS = Path(__file__).resolve().parents[3] / "shared" / "documents"


@pytest.mark.skipif(not (SHARED_DOCUMENTS / "manifest.csv").exists(),
                    reason=f"specimen documents not found at {SHARED_DOCUMENTS}")
def test_every_specimen_mrz_in_the_manifest_parses_to_its_ground_truth():
    rows = [r for r in csv.DictReader((SHARED_DOCUMENTS / "manifest.csv").open(encoding="utf-8"))
            if r["mrz_line1"]]
    assert len(rows) >= 20
    for row in rows:
        lines = [row[k] for k in ("mrz_line1", "mrz_line2", "mrz_line3") if row[k]]
        mrz = read_mrz(lines, TODAY)
        assert mrz is not None and mrz.format == row["doc_type"], row["file"]
        assert mrz.check_digits_ok, row["file"]
        assert (mrz.surname, mrz.given_names, mrz.document_number, mrz.nationality) == (
            row["surname"], row["given_names"], row["document_number"], row["nationality"]), row["file"]
        assert (mrz.date_of_birth.isoformat(), mrz.expiry_date.isoformat()) == (
            row["date_of_birth"], row["expiry_date"]), row["file"]
        assert mrz.expiry_date < TODAY  # every MRZ specimen has expired by 2026-11-27
