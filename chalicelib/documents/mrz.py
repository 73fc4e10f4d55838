"""ICAO 9303 machine-readable zones, in pure Python (no GPL `mrz` package).

`find_mrz(lines)` picks the MRZ out of OCR text lines and `parse_mrz(lines,
today)` reads a TD1 (3x30), TD2 (2x36) or TD3 (2x44) zone. OCR confusions
(O/0, I/1, B/8, S/5, ...) are corrected by field type *before* any check
digit is computed: a digit field only holds digits and a name field only
letters, so the correction never depends on the check digit it is then
tested against.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

LENGTHS = {"TD1": (30, 3), "TD2": (36, 2), "TD3": (44, 2)}
_WEIGHTS = (7, 3, 1)
# What OCR engines read in place of the characters a field may hold.
_TO_DIGIT = str.maketrans(
    {
        "O": "0",
        "Q": "0",
        "D": "0",
        "U": "0",
        "I": "1",
        "L": "1",
        "T": "1",
        "Z": "2",
        "S": "5",
        "B": "8",
        "G": "6",
        "A": "4",
    }
)
_TO_LETTER = str.maketrans(
    {"0": "O", "1": "I", "2": "Z", "4": "A", "5": "S", "6": "G", "8": "B", "7": "T"}
)
_MRZ_CHARS = re.compile(r"^[A-Z0-9<]+$")


def char_value(char: str) -> int:
    if char.isdigit():
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    return 0  # "<" filler (and anything unreadable) counts as 0


def check_digit(data: str) -> str:
    """ICAO 9303 Part 3, 4.9: weights 7-3-1 repeated, sum modulo 10."""
    return str(sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(data)) % 10)


def _digits(text: str) -> str:
    return text.translate(_TO_DIGIT)


def _digit_or_filler(text: str) -> str:
    """A check digit, which may be "<" where its field is empty ("K" is how
    OCR most often misreads a "<")."""
    return "".join("<" if c in "<K" else c.translate(_TO_DIGIT) for c in text)


def _optional(text: str) -> str:
    """Optional data: a trailing run of fillers that OCR read partly as "K"."""
    return re.sub(r"[<K]*<[<K]*$", lambda m: "<" * len(m.group()), text)


def _letters(text: str) -> str:
    return text.translate(_TO_LETTER)


def _country(text: str) -> str:
    """A country code: letters, and a "K" before a filler is a filler ("D<<"
    read as "DK<"); no code ends in K followed by fillers."""
    return re.sub(r"K(?=<)", "<", _letters(text))


def _date_or_filler(text: str) -> str:
    return text if set(text) == {"<"} else _digits(text)


def _sex(text: str) -> str:
    text = {"H": "M", "E": "F", "P": "F"}.get(text, text)  # common misreads
    return text if text in ("M", "F", "<", "X") else "<"


# Greek and Cyrillic capitals a multilingual recogniser returns for Latin ones.
_LOOKALIKES = str.maketrans("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧАВЕКМНОРСТУХ", "ABEZHIKMNOPTYXABEKMHOPCTYX")


def normalise_ocr(text: str) -> str:
    """Compatibility forms folded (fullwidth Ｐ -> P, superscript ¹ -> 1) and
    Greek/Cyrillic look-alikes read as the Latin letters they look like."""
    return unicodedata.normalize("NFKC", text).upper().translate(_LOOKALIKES)


def clean_line(text: str) -> str:
    """OCR text -> MRZ alphabet: upper case, no spaces, chevron look-alikes as "<"."""
    text = normalise_ocr(text).replace("«", "<<")
    text = re.sub("[‹〈＜くㄑ]", "<", text)  # look-alikes multilingual models return
    text = re.sub(r"[\s'`\".,:;_\-]", "", text)
    return text.replace("(", "<").replace("[", "<").replace("{", "<")


def _fit(line: str, length: int) -> str:
    """Pad or trim trailing fillers so a line OCR'd a character short or long fits."""
    if len(line) < length:
        return line + "<" * (length - len(line))
    if len(line) > length:
        extra = len(line) - length
        if line.endswith("<" * extra):
            return line[:length]
        return line[:length]
    return line


def find_mrz(lines: Sequence[str]) -> tuple[str, list[str]] | None:
    """Return (format, lines) for the MRZ among OCR text lines (top to bottom), or None.

    An MRZ line is long, made of MRZ characters and almost always holds a "<".
    The last consecutive run of such lines decides the format by its length."""
    candidates: list[list[str]] = []
    run: list[str] = []
    for raw in lines:
        text = clean_line(raw)
        if len(text) >= 26 and _MRZ_CHARS.match(text) and "<" in text:
            run.append(text)
        elif run:
            candidates.append(run)
            run = []
    if run:
        candidates.append(run)
    for run in reversed(candidates):  # the MRZ sits at the bottom of the page
        found = _format_of(run)
        if found:
            return found
    return None


def _format_of(run: list[str]) -> tuple[str, list[str]] | None:
    if len(run) >= 3:
        tail = run[-3:]
        if all(26 <= len(line) <= 33 for line in tail):
            return "TD1", [_fit(line, 30) for line in tail]
    if len(run) >= 2:
        tail = run[-2:]
        mean = sum(len(line) for line in tail) / 2
        fmt = "TD3" if mean >= 40 else "TD2" if mean >= 34 else None
        if fmt:
            return fmt, [_fit(line, LENGTHS[fmt][0]) for line in tail]
    return None


@dataclass(frozen=True)
class MrzResult:
    format: str
    document_code: str
    issuing_country: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    date_of_birth: date | None
    expiry_date: date | None
    sex: str | None  # "M", "F" or None (unspecified)
    digits: dict[str, bool] = field(default_factory=dict)  # each check digit + "composite"

    @property
    def check_digits_ok(self) -> bool:
        return all(self.digits.values())

    @property
    def document_type(self) -> str:
        code = self.document_code[:1]
        if code == "P":
            return "passport"
        if code in ("I", "A", "C"):
            return "id_card"
        return "unknown"


def resolve_year(yymmdd: str, today: date, future_allowed: bool) -> date | None:
    """A six-digit MRZ date to a date. Birth dates (future_allowed=False) are in
    the past, so 30 read on 2026-11-27 is 1930; expiry dates may be up to 50
    years ahead, so 30 is 2030 and 99 is 1999."""
    if not (len(yymmdd) == 6 and yymmdd.isdigit()):
        return None
    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:])
    year = 2000 + yy
    try:
        if future_allowed:
            if year > today.year + 50:
                year -= 100
            return date(year, month, day)
        candidate = date(year, month, day)
        if candidate > today:
            candidate = date(year - 100, month, day)
        return candidate
    except ValueError:
        return None


def _names(text: str) -> tuple[str, str]:
    text = _letters(text)
    # A lone misread filler inside the trailing fillers ("<<<K<<<") is a filler.
    text = re.sub(r"(?<=<<)[A-Z](?=<<)", "<", text) if "<<<" in text else text
    surname, _, given = text.partition("<<")
    return (_spaced(surname), _spaced(given))


def _spaced(text: str) -> str:
    return " ".join(part for part in text.split("<") if part)


def _strip(text: str) -> str:
    return text.replace("<", "")


def _document_number(number: str, digit: str, overflow: str) -> tuple[str, str, str]:
    """(number, its check digit, the data it covers). A number longer than
    nine characters (TD1) puts "<" in the check-digit position and carries on
    into the optional data, where its own last character is the check digit."""
    if digit == "<" and overflow.strip("<"):
        rest = overflow.split("<", 1)[0]
        if len(rest) >= 2:
            full = number + rest[:-1]
            return full, _digits(rest[-1]), full
    return number, _digit_or_filler(digit), number


def parse_mrz(fmt: str, lines: Sequence[str], today: date) -> MrzResult:
    """Parse an MRZ whose lines already have the format's length."""
    width, count = LENGTHS[fmt]
    if len(lines) != count or any(len(line) != width for line in lines):
        raise ValueError(f"{fmt} needs {count} lines of {width} characters")
    if fmt == "TD1":
        return _parse_td1(lines, today)
    return _parse_td23(fmt, lines, today)


def _field_ok(data: str, digit: str) -> bool:
    if digit == "<":  # an empty optional field may leave its check digit empty
        return set(data) <= {"<"}
    return check_digit(data) == digit


def _parse_td23(fmt: str, lines: Sequence[str], today: date) -> MrzResult:
    one, two = lines
    code, issuer = one[0:2], _country(one[2:5])
    surname, given = _names(one[5:])
    number = two[0:9]
    number_cd = _digit_or_filler(two[9])
    nationality = _country(two[10:13])
    dob, dob_cd = _date_or_filler(two[13:19]), _digit_or_filler(two[19])
    sex = _sex(two[20])
    expiry, expiry_cd = _date_or_filler(two[21:27]), _digit_or_filler(two[27])
    end = 42 if fmt == "TD3" else 35
    optional = _optional(two[28:end])
    digits = {
        "document_number": _field_ok(number, number_cd),
        "date_of_birth": _field_ok(dob, dob_cd),
        "expiry_date": _field_ok(expiry, expiry_cd),
    }
    if fmt == "TD3":
        optional_cd = _digit_or_filler(two[42])
        digits["personal_number"] = _field_ok(optional, optional_cd)
        composite_data = (
            number + number_cd + dob + dob_cd + expiry + expiry_cd + optional + optional_cd
        )
    else:
        composite_data = number + number_cd + dob + dob_cd + expiry + expiry_cd + optional
    digits["composite"] = check_digit(composite_data) == _digits(two[-1])
    return _result(
        fmt, code, issuer, (surname, given), number, nationality, (dob, expiry), sex, digits, today
    )


def _parse_td1(lines: Sequence[str], today: date) -> MrzResult:
    one, two, three = lines
    code, issuer = one[0:2], _country(one[2:5])
    number, number_cd, number_data = _document_number(one[5:14], one[14], _optional(one[15:30]))
    dob, dob_cd = _date_or_filler(two[0:6]), _digit_or_filler(two[6])
    sex = _sex(two[7])
    expiry, expiry_cd = _date_or_filler(two[8:14]), _digit_or_filler(two[14])
    nationality = _country(two[15:18])
    surname, given = _names(three)
    digits = {
        "document_number": _field_ok(number_data, number_cd),
        "date_of_birth": _field_ok(dob, dob_cd),
        "expiry_date": _field_ok(expiry, expiry_cd),
    }
    # The composite covers the line as printed: for a long number, "<" at 14.
    composite_data = (
        one[5:14]
        + _digit_or_filler(one[14])
        + _optional(one[15:30])
        + dob
        + dob_cd
        + expiry
        + expiry_cd
        + _optional(two[18:29])
    )
    digits["composite"] = check_digit(composite_data) == _digits(two[29])
    return _result(
        "TD1",
        code,
        issuer,
        (surname, given),
        number,
        nationality,
        (dob, expiry),
        sex,
        digits,
        today,
    )


def _result(
    fmt: str,
    code: str,
    issuer: str,
    names: tuple[str, str],
    number: str,
    nationality: str,
    dates: tuple[str, str],
    sex: str,
    digits: dict[str, bool],
    today: date,
) -> MrzResult:
    """The parsed fields as the caller sees them: fillers stripped, years
    resolved (a birth date in the past, an expiry possibly in the future),
    an unspecified sex as None."""
    dob, expiry = dates
    return MrzResult(
        fmt,
        _strip(code) or code[0],
        _strip(issuer),
        names[0],
        names[1],
        _strip(number),
        _strip(nationality),
        resolve_year(dob, today, False),
        resolve_year(expiry, today, True),
        None if sex in ("<", "X") else sex,
        digits,
    )


def read_mrz(lines: Sequence[str], today: date) -> MrzResult | None:
    """Find and parse the MRZ among OCR text lines; None when there is none."""
    found = find_mrz(lines)
    if found is None:
        return None
    return parse_mrz(found[0], found[1], today)
