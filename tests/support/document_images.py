"""Synthetic identity documents with their ground truth: TD1 ID cards, TD3
passport pages and US-style driving licences, with random valid or invalid
data, rotation (±3°), blur, JPEG compression and glare. Used by the engine
tests and by scripts/synth_documents.py and scripts/bench_documents.py.

The MRZ is set in OCR-B (Debian's fonts-ocr-b, `make fonts`); without it a
monospaced DejaVu font stands in, and without that Pillow's own font."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from chalicelib.documents.mrz import check_digit

OCR_B = Path("/usr/share/fonts/opentype/ocr-b/OCRB.otf")
MONO = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")
SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SANS_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
KINDS = ("TD1", "TD3", "US_DL")
TODAY = date(2026, 11, 27)  # the generator's fixed "today": same set every run

SURNAMES = ["ERIKSSON", "MÜLLER", "GARCÍA", "O'NEIL", "NGUYEN", "SCHMIDT", "ROSSI", "DUBOIS",
            "KOWALSKI", "JOHANSSON", "PAPADOPOULOS", "SMITH", "MOREAU", "BÄCKSTRÖM", "LEE",
            "FERNÁNDEZ", "VAN DER BERG", "ØSTERGAARD", "NOWAK", "SILVA", "HÄMÄLÄINEN", "KIM"]
GIVEN = ["ANNA", "MARIA", "JOHN", "LUCAS", "SOFIA", "JÖRG", "ÉLODIE", "PETER", "YUKI", "OMAR",
         "LENA", "MATEO", "ZOË", "IVAN", "CHLOE", "NOAH", "EMMA", "ÅSA", "RAFAEL", "MIA"]
COUNTRIES = ["UTO", "DEU", "FRA", "SWE", "NLD", "ITA", "ESP", "POL", "GRC", "FIN", "AUT", "BEL"]
STATES = ["MASSACHUSETTS", "UTOPIA STATE", "NEW TESTLAND", "OREGON", "VERMONT"]
_TRANSLIT = {"Ä": "AE", "Ö": "OE", "Ü": "UE", "Å": "AA", "Ø": "OE", "Æ": "AE", "ß": "SS",
             "É": "E", "Í": "I", "Á": "A", "Ë": "E"}


@dataclass
class Synthetic:
    kind: str                       # TD1, TD3 or US_DL
    jpeg: bytes
    truth: dict[str, str]           # manifest-style ground truth (MRZ spelling for MRZ kinds)
    digits_valid: bool              # False: one check digit was spoiled on purpose
    mrz: list[str] = field(default_factory=list)


def font(path: Path, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in (path, MONO, SANS):
        if candidate.exists():
            return ImageFont.truetype(str(candidate), size)
    return ImageFont.load_default(size)


def mrz_name(text: str) -> str:
    out = "".join(_TRANSLIT.get(c, c) for c in text.upper())
    return "".join(c if "A" <= c <= "Z" else "<" for c in out)


def _yymmdd(day: date) -> str:
    return day.strftime("%y%m%d")


def _pad(text: str, width: int) -> str:
    return (text + "<" * width)[:width]


def _random_identity(rng: random.Random) -> dict[str, object]:
    surname = rng.choice(SURNAMES)
    given = " ".join(rng.sample(GIVEN, rng.choice((1, 1, 2))))
    birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 68 * 365))
    expiry = TODAY + timedelta(days=rng.randrange(-6 * 365, 10 * 365))
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    number = "".join(rng.choice(letters) for _ in range(rng.choice((1, 2)))) + "".join(
        rng.choice("0123456789") for _ in range(7))
    number = number[:9]
    return {"surname": surname, "given": given, "birth": birth, "expiry": expiry,
            "number": number, "country": rng.choice(COUNTRIES), "sex": rng.choice("MF")}


def td3_lines(p: dict[str, object]) -> list[str]:
    names = mrz_name(str(p["surname"])) + "<<" + mrz_name(str(p["given"]))
    one = _pad("P<" + str(p["country"]) + names, 44)
    number = _pad(str(p["number"]), 9)
    dob, exp = _yymmdd(p["birth"]), _yymmdd(p["expiry"])  # type: ignore[arg-type]
    personal = "<" * 14
    body = (number + check_digit(number) + str(p["country"]) + dob + check_digit(dob)
            + str(p["sex"]) + exp + check_digit(exp) + personal + "<")
    composite = check_digit(body[0:10] + body[13:20] + body[21:43])
    return [one, body + composite]


def td1_lines(p: dict[str, object]) -> list[str]:
    number = _pad(str(p["number"]), 9)
    one = _pad("I<" + str(p["country"]) + number + check_digit(number), 30)
    dob, exp = _yymmdd(p["birth"]), _yymmdd(p["expiry"])  # type: ignore[arg-type]
    two = _pad(dob + check_digit(dob) + str(p["sex"]) + exp + check_digit(exp)
               + str(p["country"]), 29)
    two += check_digit(one[5:30] + two[0:7] + two[8:15] + two[18:29])
    three = _pad(mrz_name(str(p["surname"])) + "<<" + mrz_name(str(p["given"])), 30)
    return [one, two, three]


def _spoil(lines: list[str], rng: random.Random, positions: list[tuple[int, int]]) -> list[str]:
    row, col = rng.choice(positions)
    digit = lines[row][col]
    wrong = str((int(digit) + rng.randrange(1, 10)) % 10) if digit.isdigit() else "1"
    lines = list(lines)
    lines[row] = lines[row][:col] + wrong + lines[row][col + 1:]
    return lines


def _background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    base = tuple(rng.randrange(215, 245) for _ in range(3))
    img = Image.new("RGB", size, base)
    draw = ImageDraw.Draw(img)
    for _ in range(30):  # a faint guilloche-like pattern
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        r = rng.randrange(40, 260)
        tint = tuple(max(0, c - rng.randrange(8, 25)) for c in base)
        draw.ellipse((x - r, y - r, x + r, y + r), outline=tint, width=1)
    return img


def _portrait(img: Image.Image, box: tuple[int, int, int, int],
              photo: Image.Image | None = None) -> None:
    """A cartoon head, or `photo` (a real face, for the /ips benchmark) fitted in."""
    x0, y0, x1, y1 = box
    draw = ImageDraw.Draw(img)
    if photo is not None:
        from PIL import ImageOps
        img.paste(ImageOps.fit(photo.convert("RGB"), (x1 - x0, y1 - y0)), (x0, y0))
        return
    draw.rectangle(box, fill=(200, 205, 215), outline=(90, 90, 110), width=2)
    w, h = x1 - x0, y1 - y0
    draw.ellipse((x0 + w * 0.28, y0 + h * 0.15, x0 + w * 0.72, y0 + h * 0.62), fill=(214, 170, 140))
    draw.rectangle((x0 + w * 0.15, y0 + h * 0.7, x0 + w * 0.85, y1 - 2), fill=(70, 80, 120))


def _draw_mrz(img: Image.Image, lines: list[str], top: int, left: int, width: int) -> None:
    draw = ImageDraw.Draw(img)
    size = 10
    chars = len(lines[0])
    while True:  # the largest font whose line fits the width
        f = font(OCR_B, size + 1)
        if draw.textlength("<" * chars, font=f) > width:
            break
        size += 1
    f = font(OCR_B, size)
    for i, line in enumerate(lines):
        draw.text((left, top + i * int(size * 1.45)), line, fill=(20, 20, 25), font=f)


def _viz(draw: ImageDraw.ImageDraw, x: int, y: int, label: str, value: str, scale: float) -> None:
    draw.text((x, y), label, fill=(80, 80, 120), font=font(SANS, int(15 * scale)))
    draw.text((x, y + int(19 * scale)), value, fill=(15, 15, 30), font=font(SANS_BOLD, int(24 * scale)))


def render_mrz_document(kind: str, p: dict[str, object], lines: list[str],
                        rng: random.Random, photo: Image.Image | None = None) -> Image.Image:
    size = (1012, 638) if kind == "TD1" else (1250, 880)
    img = _background(size, rng)
    draw = ImageDraw.Draw(img)
    title = "IDENTITY CARD" if kind == "TD1" else "PASSPORT"
    draw.text((40, 24), f"{p['country']}  {title}", fill=(40, 40, 90), font=font(SANS_BOLD, 34))
    box = (40, 90, 290, 400) if kind == "TD1" else (50, 110, 360, 520)
    _portrait(img, box, photo)
    x, scale = box[2] + 40, 1.0 if kind == "TD1" else 1.15
    birth: date = p["birth"]  # type: ignore[assignment]
    expiry: date = p["expiry"]  # type: ignore[assignment]
    rows = [("Surname / Nom", str(p["surname"])), ("Given names / Prénoms", str(p["given"])),
            ("Date of birth", birth.strftime("%d %b %Y").upper()),
            ("Document no.", str(p["number"])),
            ("Date of expiry", expiry.strftime("%d %b %Y").upper())]
    step = 56 if kind == "TD1" else 76
    for i, (label, value) in enumerate(rows):
        _viz(draw, x, 90 + i * step, label, value, scale)
    mrz_top = 440 if kind == "TD1" else 700
    _draw_mrz(img, lines, mrz_top, 36, size[0] - 72)
    return img


def render_licence(p: dict[str, object], rng: random.Random,
                   photo: Image.Image | None = None) -> Image.Image:
    size = (1012, 638)
    img = _background(size, rng)
    draw = ImageDraw.Draw(img)
    draw.text((40, 22), rng.choice(STATES), fill=(70, 60, 150), font=font(SANS_BOLD, 46))
    draw.text((700, 30), "DRIVER LICENSE", fill=(70, 60, 150), font=font(SANS, 22))
    draw.line((30, 95, 980, 95), fill=(70, 60, 150), width=3)
    _portrait(img, (40, 130, 300, 460), photo)
    birth: date = p["birth"]  # type: ignore[assignment]
    expiry: date = p["expiry"]  # type: ignore[assignment]
    issued = expiry - timedelta(days=8 * 365)
    small, value = font(SANS, 18), font(SANS, 30)

    def field_at(x: int, y: int, label: str, text: str) -> None:
        draw.text((x, y), label, fill=(80, 70, 160), font=small)
        draw.text((x + 20, y + 22), text, fill=(20, 20, 40), font=value)

    field_at(350, 120, "4a ISS", issued.strftime("%m/%d/%Y"))
    field_at(640, 120, "4d DLN", str(p["number"]))
    field_at(350, 190, "4b EXP", expiry.strftime("%m/%d/%Y"))
    field_at(640, 190, "3 DOB", birth.strftime("%m/%d/%Y"))
    draw.text((350, 270), "1", fill=(80, 70, 160), font=small)
    draw.text((372, 258), str(p["surname"]), fill=(20, 20, 40), font=font(SANS_BOLD, 40))
    draw.text((350, 322), "2", fill=(80, 70, 160), font=small)
    draw.text((372, 314), str(p["given"]), fill=(20, 20, 40), font=font(SANS, 30))
    draw.text((350, 370), "8", fill=(80, 70, 160), font=small)
    draw.text((372, 362), f"{rng.randrange(1, 999)} MAIN STREET", fill=(20, 20, 40), font=value)
    draw.text((350, 440), f"15 SEX {p['sex']}", fill=(20, 20, 40), font=font(SANS, 24))
    return img


def degrade(img: Image.Image, rng: random.Random, strength: float = 1.0) -> bytes:
    """±3° rotation, blur, glare and JPEG compression; strength 0 leaves it clean."""
    if strength > 0:
        fill = img.getpixel((5, 5))
        img = img.rotate(rng.uniform(-3, 3) * strength, resample=Image.BICUBIC, expand=True,
                         fillcolor=fill)
        overlay = Image.new("L", img.size, 0)
        glare = ImageDraw.Draw(overlay)
        gx, gy = rng.randrange(img.width), rng.randrange(img.height // 2)
        r = rng.randrange(60, 180)
        glare.ellipse((gx - r, gy - r // 2, gx + r, gy + r // 2), fill=int(150 * strength))
        overlay = overlay.filter(ImageFilter.GaussianBlur(r / 3))
        img = Image.composite(Image.new("RGB", img.size, (255, 255, 255)), img, overlay)
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.0) * strength))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=rng.randrange(45, 90) if strength > 0 else 92)
    return out.getvalue()


def make_document(seed: int, kind: str | None = None, strength: float = 1.0,
                  invalid_rate: float = 0.2, photo: Image.Image | None = None) -> Synthetic:
    """One synthetic document, the same for the same arguments."""
    rng = random.Random(seed)
    kind = kind or rng.choice(KINDS)
    p = _random_identity(rng)
    birth: date = p["birth"]  # type: ignore[assignment]
    expiry: date = p["expiry"]  # type: ignore[assignment]
    truth = {"doc_type": kind, "document_number": str(p["number"]),
             "date_of_birth": birth.isoformat(), "expiry_date": expiry.isoformat()}
    valid = True
    lines: list[str] = []
    if kind == "US_DL":
        truth.update(surname=str(p["surname"]), given_names=str(p["given"]))
        img = render_licence(p, rng, photo)
    else:
        lines = td3_lines(p) if kind == "TD3" else td1_lines(p)
        if rng.random() < invalid_rate:
            positions = ([(1, 9), (1, 19), (1, 27), (1, 43)] if kind == "TD3"
                         else [(0, 14), (1, 6), (1, 14), (1, 29)])
            lines, valid = _spoil(lines, rng, positions), False
        truth.update(surname=mrz_name(str(p["surname"])).replace("<", " ").strip(),
                     given_names=mrz_name(str(p["given"])).replace("<", " ").strip(),
                     nationality=str(p["country"]), sex=str(p["sex"]))
        img = render_mrz_document(kind, p, lines, rng, photo)
    return Synthetic(kind, degrade(img, rng, strength), truth, valid, lines)
