"""Synthetic data shapes for the robustness benchmark: data nobody tuned scv for.

    from shapes import SHAPES, make
    config, truth = make("voter_lists", Path("/tmp/voters"), records=25_000, seed=42)

    python benchmarks/shapes.py voter_lists /tmp/voters [--records N] [--seed S]

Each shape writes its sources as CSV files, `truth.csv` (source, source_record_id,
person_id: who each record really is) and `scv.yaml` with a lakehouse at ./lakehouse and,
per source, its path, id and a column mapping (plus `attributes` for an identifier or
other column a user would carry): nothing else, no tuning. `big` is scv's own demo
generator (`scv.generate`) at its default project file.

The shapes are meant to look like data people have, not like data scv links well:

* Names follow Zipf-like frequencies: a head of real names in their real order of
  popularity (the commonest of them a few per cent of people) and a long tail of
  invented but plausible names (thousands of rare surnames), as in a real population.
  US towns (a few thousand, Zipf sizes, each with one to dozens of zip codes, zips nested
  in towns) are invented too; the UK shapes use scv.generate's cities and postcode
  districts.
* Errors are the ones people and machines make: substitution, deletion, insertion,
  transposition, a neighbouring key, OCR confusions (l/1, rn/m, 0/o, 5/s, cl/d),
  phonetic spellings (ph/f, ie/y, son/sen); nicknames; dates with day and month
  swapped, a digit or year wrong, or a 1 January stand-in; values swapped for another
  valid one (a move to another town and zip, a married surname, a neighbouring zip);
  missing values. Each shape states its rates in its builder.
* Every shape is reproducible from its seed (numpy and `random` generators seeded from
  the seed and the shape's name) and takes a few seconds at 25,000 records.

Population sizes follow `records`: each shape generates people until its sources hold
exactly `records` rows (the last person may be cut short).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import random
import re
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import yaml

from scv import generate as gen

SHAPES: dict[str, str] = {
    "voter_lists": "5 parties x ~5,000 records, each holding a person at most once; first name, last name, "
                   "city, zip only; a third of each field's values corrupted; ~18,000 people (US)",
    "voter_lists_heavy": "the voter lists with over half (55%) of each field's values corrupted",
    "voter_field_typos": "the voter lists with a third of each field's values mistyped (one or two edits), "
                         "each field on its own; no other values swapped in, none left out",
    "voter_field_typos_heavy": "the same with over half (55%) of each field's values mistyped",
    "voter_typos": "the voter lists corrupted as the DPPRL NCVR files are (measured on ../shared/data/ncvr500): "
                   "40% of records carry one typo in each of two of their four fields; only typos",
    "voter_typos_heavy": "the same with 80% of records corrupted: over half of each field's values differ "
                         "between two records of one person",
    "names_dob": "names and date of birth only; 2 sources with duplicates, married surnames (UK)",
    "names_email": "names and email only; family inboxes, work addresses, placeholder emails "
                   "(noemail@example.com ...) shared by many people; 3 sources (UK)",
    "households": "households share address, surname, landline and a family inbox; people differ by "
                  "first name and date of birth; 3 sources with duplicates (UK)",
    "twins": "half the people are twins (or triplets): same surname, date of birth, address and phone, "
             "different first names, a third of them similar (Jon/Jan); 2 sources (UK)",
    "common_names": "a third of people have one of the 20 commonest first names and one of the 20 "
                    "commonest surnames; names, dob, city, email, partly missing; 2 sources (US)",
    "heavy_typos": "two to three typos in every record across names, dob, address, postcode, email, "
                   "phone; 2 sources (UK)",
    "historical": "census and parish transcriptions of 19th-century people (all born before 1900): names, "
                  "dob, postcode, gender, birthplace, occupation; up to ~20 records a person",
    "date_conventions": "3 sources writing dates dd/mm/yyyy, mm/dd/yyyy and yyyy-mm-dd; names, dob, "
                        "email, postcode",
    "international": "people from 16 countries: accents, transliterations, compound surnames, family name "
                     "first, native and English city names, national postcode and phone formats; 3 sources",
    "census_ssn": "census, social security and payroll: names, middle initial, dob, street address, city, "
                  "state, zip, ssn (not in the census, partly missing, typos, a housemate's); households; "
                  "up to 8 records a person (US)",
    "few_fields": "first name, last name and city only; 2 sources with duplicates (US)",
    "many_parties": "20 parties each holding a person at most once; names, dob, city, zip; a fifth of "
                    "each field's values corrupted (US)",
    "big": "scv's demo generator (crm, shop, newsletter); robustness.py runs it at 4x --records (100,000)",
}

BIG_RECORDS_FACTOR = 4  # `big` is four times the other shapes: 100,000 at the default 25,000


def make(shape: str, folder: Path, records: int = 25_000, seed: int = 42) -> tuple[Path, Path]:
    """Write `shape` at `records` records into `folder`; return (scv.yaml, truth.csv).

    For `big`, `records` is the number of records wanted (about; the demo generator
    draws its sources per person)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; use one of: {', '.join(SHAPES)}")
    if records < 10:
        raise ValueError(f"records must be at least 10, got {records}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if shape == "big":
        return _big(folder, records, seed)
    ctx = _Ctx(seed, shape)
    _ISSUED.clear()
    sources = _BUILDERS[shape](ctx, records)
    return _write(folder, sources)


# ======================================================================================
# Output
# ======================================================================================


@dataclass
class _Source:
    """One source file: its columns (lists of text or None), the true person of each row,
    and how scv.yaml maps it."""

    name: str
    id_column: str
    columns: dict[str, list]
    person: list[int]
    mapping: dict[str, str]
    attributes: list[str] = field(default_factory=list)


def _write(folder: Path, sources: list[_Source]) -> tuple[Path, Path]:
    truth_rows: dict[str, list] = {"source": [], "source_record_id": [], "person_id": []}
    config_sources = {}
    for src in sources:
        n = len(src.person)
        assert all(len(v) == n for v in src.columns.values()), src.name
        table = pa.table({k: pa.array(v, pa.string()) for k, v in src.columns.items()})
        path = folder / f"{src.name}.csv"
        pcsv.write_csv(table, path)
        truth_rows["source"] += [src.name] * n
        truth_rows["source_record_id"] += src.columns[src.id_column]
        truth_rows["person_id"] += [f"p{p}" for p in src.person]
        entry: dict = {"path": path.name, "id": src.id_column, "columns": dict(src.mapping)}
        if src.attributes:
            entry["attributes"] = list(src.attributes)
        config_sources[src.name] = entry
    truth = folder / "truth.csv"
    pcsv.write_csv(pa.table({k: pa.array(v, pa.string()) for k, v in truth_rows.items()}), truth)
    config = folder / "scv.yaml"
    config.write_text(yaml.safe_dump({"lakehouse": "./lakehouse", "sources": config_sources}, sort_keys=False))
    return config, truth


def _big(folder: Path, records: int, seed: int) -> tuple[Path, Path]:
    people = max(1, round(records / gen.RECORDS_PER_PERSON))
    data = gen.generate(folder / "data", people=people, seed=seed)
    config = folder / "scv.yaml"
    config.write_text(gen.demo_project_yaml(data_dir="data", lakehouse="lakehouse"))
    return config, data.truth_path


# ======================================================================================
# Randomness and noise
# ======================================================================================


class _Ctx:
    """The shape's generators: numpy for vectorised draws, `random` for string work."""

    def __init__(self, seed: int, shape: str):
        salt = zlib.crc32(shape.encode())
        self.g = np.random.default_rng([seed, salt])
        self.r = random.Random(seed * 1_000_003 + salt)
        self._pools: dict[int, list] = {}

    def pick(self, values: Sequence, weights: np.ndarray):
        """One weighted draw from `values`, drawn in batches (one numpy call per 4,096)."""
        pool = self._pools.get(id(weights))
        if pool is None or pool[1] >= len(pool[0]):
            idx = self.g.choice(len(values), 4096, p=weights).tolist()
            pool = self._pools[id(weights)] = [[values[k] for k in idx], 0, weights]
        pool[1] += 1
        return pool[0][pool[1] - 1]

    def first(self, names: _Names, female: bool) -> str:
        return str(self.pick(names.female, names.female_w) if female else self.pick(names.male, names.male_w))

    def last(self, names: _Names) -> str:
        return str(self.pick(names.surnames, names.surname_w))

    def town(self, towns: _Towns) -> tuple[int, str]:
        t = self.pick(range(len(towns.names)), towns.weights)
        return t, towns.zip_at(t, self.r.random())


LETTERS = "abcdefghijklmnopqrstuvwxyz"
KEYS = {**gen.KEYBOARD_NEIGHBOURS, "1": "2q", "2": "13w", "3": "24e", "4": "35r", "5": "46t", "6": "57y",
        "7": "68u", "8": "79i", "9": "80o", "0": "9p"}
OCR = [("m", "rn"), ("rn", "m"), ("l", "1"), ("i", "l"), ("l", "i"), ("o", "0"), ("s", "5"), ("b", "h"),
       ("h", "b"), ("e", "c"), ("c", "e"), ("u", "v"), ("v", "u"), ("n", "ri"), ("cl", "d"), ("d", "cl"),
       ("w", "vv"), ("a", "o"), ("g", "q"), ("z", "2"), ("t", "f"), ("f", "t"), ("y", "v"), ("ii", "u"),
       ("0", "o"), ("1", "l"), ("1", "|"), ("1", "7"), ("7", "1"), ("5", "s"), ("8", "b"), ("8", "3"),
       ("3", "8"), ("2", "z"), ("6", "b"), ("6", "5"), ("9", "g"), ("0", "8")]
PHONETIC = [("ph", "f"), ("f", "ph"), ("ck", "k"), ("c", "k"), ("k", "c"), ("ie", "y"), ("y", "ie"),
            ("y", "i"), ("i", "y"), ("ei", "ie"), ("ie", "ei"), ("ou", "ow"), ("s", "z"), ("z", "s"),
            ("ea", "ee"), ("ee", "ea"), ("th", "t"), ("gh", ""), ("wr", "r"), ("kn", "n"), ("ll", "l"),
            ("l", "ll"), ("tt", "t"), ("t", "tt"), ("nn", "n"), ("n", "nn"), ("ss", "s"), ("mm", "m"),
            ("er", "ar"), ("ar", "er"), ("or", "er"), ("sch", "sh"), ("sh", "sch"), ("x", "ks"), ("ey", "y"),
            ("ae", "e"), ("oo", "u"), ("v", "w"), ("w", "v"), ("ai", "ay"), ("ay", "ai"), ("son", "sen"),
            ("sen", "son"), ("man", "mann"), ("e", "a"), ("a", "e"), ("i", "e"), ("on", "en")]


def _find_all(text: str, pattern: str) -> list[int]:
    out, i = [], text.find(pattern)
    while i >= 0:
        out.append(i)
        i = text.find(pattern, i + 1)
    return out


def _case_like(original: str, replacement: str) -> str:
    if len(original) > 1 and original.isupper():
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _position(s: str, r: random.Random) -> int:
    """Where a typo lands: rarely on the first character, which people get right."""
    if len(s) > 1 and r.random() < 0.9:
        return r.randrange(1, len(s))
    return r.randrange(len(s))


def _keyboard(s: str, r: random.Random) -> str:
    i = _position(s, r)
    near = KEYS.get(s[i].lower())
    if not near:
        return s
    return s[:i] + _case_like(s[i], r.choice(near)) + s[i + 1:]


def _substitute(s: str, r: random.Random) -> str:
    i = _position(s, r)
    c = s[i]
    if c.isdigit():
        new = r.choice("0123456789")
    elif c.isalpha():
        new = _case_like(c, r.choice(LETTERS))
    else:
        return s
    return s[:i] + new + s[i + 1:]


def _delete(s: str, r: random.Random) -> str:
    if len(s) < 3:
        return s
    i = _position(s, r)
    return s[:i] + s[i + 1:]


def _insert(s: str, r: random.Random) -> str:
    i = _position(s, r)
    c = s[i]
    near = KEYS.get(c.lower())
    new = c if not near or r.random() < 0.5 else _case_like(c, r.choice(near))
    return s[:i] + new + s[i:]


def _transpose(s: str, r: random.Random) -> str:
    if len(s) < 2:
        return s
    i = r.randrange(1, len(s) - 1) if len(s) > 2 and r.random() < 0.9 else r.randrange(len(s) - 1)
    return s[:i] + s[i + 1] + s[i] + s[i + 2:]


def _table_swap(table: Sequence[tuple[str, str]]) -> Callable[[str, random.Random], str]:
    def op(s: str, r: random.Random) -> str:
        low = s.lower()
        options = [(i, a, b) for a, b in table for i in _find_all(low, a)]
        if not options:
            return s
        i, a, b = r.choice(options)
        return s[:i] + _case_like(s[i:i + len(a)], b) + s[i + len(a):]
    return op


def _space(s: str, r: random.Random) -> str:
    """A space dropped between words, or one typed inside a word."""
    if " " in s and r.random() < 0.7:
        spaces = _find_all(s, " ")
        i = r.choice(spaces)
        return s[:i] + s[i + 1:]
    if len(s) < 5:
        return s
    i = r.randrange(2, len(s) - 2)
    return s if " " in s[i - 1:i + 1] else s[:i] + " " + s[i:]


_OPS = (_keyboard, _substitute, _delete, _insert, _transpose, _table_swap(OCR), _table_swap(PHONETIC), _space)
_TEXT_WEIGHTS = (22, 8, 18, 12, 18, 8, 11, 3)
_DIGIT_WEIGHTS = (15, 25, 15, 10, 25, 10, 0, 0)


def typo(s: str | None, r: random.Random, edits: int = 1) -> str | None:
    """`s` with `edits` typing, OCR or phonetic errors."""
    if not s:
        return s
    digits = sum(c.isdigit() for c in s) * 2 > len(s)
    weights = _DIGIT_WEIGHTS if digits else _TEXT_WEIGHTS
    for _ in range(edits):
        for _attempt in range(8):
            op = r.choices(_OPS, weights)[0]
            t = op(s, r)
            if t and t != s and t.strip():
                s = t
                break
    return s


EMAIL_DOMAIN_TYPOS = {"gmail.com": ("gmial.com", "gmail.co", "gmai.com", "gmail.con", "gamil.com"),
                      "yahoo.com": ("yaho.com", "yahoo.co", "yhaoo.com"), "hotmail.com": ("hotmial.com", "hotmal.com"),
                      "hotmail.co.uk": ("hotmail.co", "hotmial.co.uk"), "outlook.com": ("outlok.com",),
                      "aol.com": ("aol.co",), "icloud.com": ("iclould.com", "icoud.com"),
                      "btinternet.com": ("btinternet.co.uk", "btinterent.com")}


def email_typo(s: str | None, r: random.Random) -> str | None:
    if not s or "@" not in s:
        return typo(s, r)
    local, domain = s.rsplit("@", 1)
    if r.random() < 0.3:
        fixed = EMAIL_DOMAIN_TYPOS.get(domain.lower())
        domain = r.choice(fixed) if fixed else typo(domain, r)
    else:
        local = typo(local, r)
    return f"{local}@{domain}"


def date_error(d: dt.date, r: random.Random) -> dt.date:
    """A wrong date of the kinds people write: day and month swapped, a day or month off,
    the year off by one or ten or its last digits swapped, 1 January for an unknown date."""
    for _ in range(6):
        kind = r.choices(range(8), (22, 18, 8, 16, 6, 10, 12, 8))[0]
        try:
            if kind == 0:
                new = d.replace(day=d.month, month=d.day)
            elif kind == 1:
                new = d + dt.timedelta(days=r.choice((-2, -1, 1, 2, 10, -10)))
            elif kind == 2:
                new = d.replace(month=min(12, max(1, d.month + r.choice((-1, 1)))))
            elif kind == 3:
                new = d.replace(year=d.year + r.choice((-1, 1)))
            elif kind == 4:
                new = d.replace(year=d.year + r.choice((-10, 10)))
            elif kind == 5:
                y = f"{d.year:04d}"
                new = d.replace(year=int(y[:2] + y[3] + y[2]))
            elif kind == 6:
                new = d.replace(day=d.day % 10 * 10 + d.day // 10) if d.day > 9 else d.replace(day=d.day * 10 % 31 or 1)
            else:
                new = d.replace(month=1, day=1)
        except ValueError:
            continue
        if new != d:
            return new
    return d + dt.timedelta(days=1)


def _case(s: str | None, style: str) -> str | None:
    if s is None:
        return None
    return {"lower": s.lower, "upper": s.upper, "title": s.title}.get(style, lambda: s)()


def _ascii(s: str) -> str:
    """Accents dropped as a system without them writes a name: Müller -> Muller, Łukasz -> Lukasz."""
    s = s.translate(_ASCII_EXTRA)
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()


_ASCII_EXTRA = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "æ": "ae", "Æ": "AE",
                              "œ": "oe", "đ": "d", "Đ": "D", "ı": "i", "ð": "d", "þ": "th"})
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def _zipf(n: int, exponent: float = 1.0, offset: float = 2.0) -> np.ndarray:
    w = 1.0 / (np.arange(n) + offset) ** exponent
    return w / w.sum()


def _weighted(items: Sequence[tuple[float, object]], r: random.Random):
    return r.choices([v for _, v in items], [w for w, _ in items])[0]


def _ids(g: np.random.Generator, n: int, width: int = 8, prefix: str = "") -> list[str]:
    """Unique random-looking record ids, in no order that tells anything."""
    values = 10 ** (width - 2) + np.cumsum(g.integers(1, 40, n))
    g.shuffle(values)
    return [f"{prefix}{v:0{width}d}" for v in values.tolist()]


# ======================================================================================
# Vocabularies
# ======================================================================================

US_FEMALE = """
Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Margaret Sandra
Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah Stephanie Rebecca Sharon Laura
Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma Nicole Helen Samantha Katherine Christine Debra
Rachel Carolyn Janet Catherine Maria Heather Diane Ruth Julie Olivia Joyce Virginia Victoria Kelly Lauren
Christina Joan Evelyn Judith Megan Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara Madison
Frances Kathryn Janice Jean Abigail Alice Judy Sophia Grace Denise Amber Doris Marilyn Danielle Beverly
Isabella Theresa Diana Natalie Brittany Charlotte Marie Kayla Alexis Lori Tiffany Tammy Crystal Wanda Peggy
Rose Bonnie Lois Phyllis Norma Paula Annie Tonya Shannon Kristen Dana Erin Monica Yolanda Regina Vanessa
Courtney Latoya Keisha Shanice Ebony Lakisha Jasmine Destiny Haley Brianna Kaylee Mackenzie Savannah Chloe
Ava Mia Harper Aaliyah Gabriela Guadalupe Rosa Carmen Juana Ana Lucia Yesenia Xiomara Mei Linh Thao Tamika
Felicia Rhonda Sheila Connie Ella Gail Lillian Lucille Jo Edna Bobbie Tina Sherry Stacy Erica Tanya Kristy
Misty Mandy Candace Leslie Carla Yvonne Holly Alison Kara Melanie Hope Jill Jenna Kendra Kristin Allison
Lindsey Molly Caitlin Brooke Paige Morgan Taylor Sydney Kaitlyn Alyssa Jordan Autumn Faith Lily Zoe Layla
""".split()

US_MALE = """
James Robert John Michael David William Richard Joseph Thomas Charles Christopher Daniel Matthew Anthony Mark
Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald Edward Jason Jeffrey Ryan Jacob
Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Frank
Patrick Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Douglas Zachary Peter Kyle Ethan Walter
Noah Jeremy Christian Keith Roger Terry Gerald Harold Sean Austin Carl Arthur Lawrence Dylan Jesse Jordan
Bryan Billy Joe Bruce Gabriel Logan Albert Willie Alan Juan Wayne Elijah Randy Roy Vincent Ralph Eugene
Russell Bobby Mason Philip Louis Johnny Bradley Shawn Travis Curtis Darnell Tyrone Jamal Marcus Cedric Luis
Carlos Miguel Jesus Antonio Manuel Pedro Javier Ricardo Hector Minh Huy Wei Raj Clarence Ernest Howard
Chad Derek Troy Shane Dale Glenn Marvin Leroy Calvin Lonnie Herman Alvin Melvin Earl Jimmy Leon Lee Dustin
Corey Cody Caleb Hunter Isaiah Landon Colton Chase Owen Wyatt Levi Isaac Luke Carter Connor Grayson Liam
""".split()

US_SURNAMES = """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera
Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart
Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim
Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo
Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler
Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds
Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford
Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman
Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon
Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice
Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer
Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong
Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena Richards
Contreras Willis Carpenter Lawrence Sandoval Guerrero George Chapman Rios Estrada Ortega Watkins Greene
Nunez Wheeler Valdez Harper Burke Larson Santiago Maldonado Morrison Franklin Carlson Austin Dominguez Carr
Lawson Jacobs O'Brien Lynch Singh Vega Bishop Montgomery Oliver Jensen Harvey Williamson Gilbert Dean Sims
Espinoza Howell Li Wong Reid Hanson Le McCoy Garrett Burton Fuller Wang Weber Welch Rojas Lucas Marquez
Fields Park Yang Little Banks Padilla Day Walsh Bowman Schultz Luna Fowler Mejia Davidson Acosta Brewer May
Holland Juarez Newman Pearson Curtis Cortez Douglas Schneider Joseph Barrett Navarro Figueroa Keller Avila
Wade Molina Stanley Hopkins Campos Barnett Bates Chambers Caldwell Beck Lambert Miranda Byrd Craig Ayala
Lowe Frazier Powers Neal Leonard Gregory Carrillo Sutton Fleming Rhodes Shelton Schwartz Norris Jennings
Watts Duran Walters Cohen McDaniel Moran Parks Steele Vaughn Becker Holt Deleon Barker Terry Hale Leon Hail
Benson Haynes Horton Miles Lyons Pham Graves Bush Thornton Wolfe Warner Cabrera McKinney Mann Zimmerman
Dawson Lara Fletcher Page McCarthy Love Robles Cervantes Solis Erickson Reeves Chang Klein Salinas Fuentes
Baldwin Daniel Simon Velasquez Hardy Higgins Aguirre Lin Cummings Chandler Sharp Barber Bowen Ochoa Dennis
Robbins Liu Ramsey Francis Griffith Paul Blair O'Connor Cardenas Pacheco Cross Calderon Quinn Moss Swanson
Chan Rivas Khan Rodgers Serrano Fitzgerald Rosales Stevenson Christensen Manning Gill Curry McLaughlin
Harmon McGee Gross Doyle Garner Newton Burgess Reese Walton Blake Trujillo Adkins Brady Goodman Roman
Webster Goodwin Fischer Huang Potter Delacruz Montoya Todd Wu Hines Mullins Castaneda Malone Cannon Tate
Mack Sherman Hubbard Hodges Zhang Guerra Wolf Valencia Saunders Franco Rowe Gallagher Farmer Hammond Hampton
Townsend Ingram Wise Gallegos Clarke Barton Schroeder Maxwell Waters Logan Camacho Strickland Norman Person
Colon Parsons Frank Harrington Glover Osborne Buchanan Casey Floyd Patton Ibarra Ball Tyler Suarez Bowers
Orozco Salas Cobb Gibbs Andrade Bauer Conner Moody Escobar McGuire Lloyd Mueller Hartman French Kramer
McBride Pope Lindsey Velazquez Norton McCormick Sparks Flynn Yates Hogan Marsh Macias Villanueva Zamora
Pratt Stokes Owen Ballard Lang Brock Villarreal Charles Drake Barrera Cain Patrick Pineda Burnett Mercado
Santana Shepherd Bautista Ali Shaffer Lamb Trevino McKenzie Hess Olsen Cochran Morton Nash Wilkins Petersen
Briggs Shah Roth Nicholson Holloway Lozano Rangel Flowers Hoover Short Arias Mora Valenzuela Bryan Meyers
Weiss Underwood Bass Greer Summers Houston Carson Morrow Clayton Whitaker Decker Yoder Collier Zuniga Carey
Wilcox Melendez Poole Roberson Larsen Conley Davenport Copeland Massey Lam Huff Rocha Cameron Jefferson Hood
Monroe Anthony Pittman Huynh Randall Singleton Kirk Combs Mathis Christian Skinner Bradford Richard Galvan
Wall Boone Kirby Wilkinson Bridges Bruce Atkinson Velez Meza Roy Vincent York Hodge Villa Abbott Allison
Tapia Gates Chase Sosa Sweeney Farrell Wyatt Dalton Horn Barron Phelps Yu Dickerson Heath Foley Atkins
Mathews Bonilla Acevedo Benitez Zavala Hensley Glenn Cisneros Harrell Shields Rubio Choi Huffman Boyer
Garrison Arroyo Bond Kane Hancock Callahan Dillon Cline Wiggins Grimes Arellano Melton O'Neill Savage Ho
Beltran Pitts Parrish Ponce Rich Booth Koch Golden Ware Brennan McDowell Marks Cantu Humphrey Baxter Sawyer
Clay Tanner Hutchinson Kaur Berg Wiley Gilmore Russo Villegas Hobbs Keith Wilkerson Ahmed Beard McClain
Montes Mata Rosario Vang Walter Henson O'Neal Mosley McClure Beasley Stephenson Snow Huerta Preston Vance
Barry Johns Eaton Blackwell Dyer Prince Macdonald Solomon Guevara Stafford English Hurst Woodard Cortes
Shannon Kemp Nolan McCullough Merritt Murillo Moon Salgado Strong Kline Cordova Barajas Roach Rosas Winters
Jacobson Lester Knox Bullock Kerr Leach Meadows Orr Davila Whitehead Pruitt Kent Conway McKee Barr David
Dejesus Marin Berger McIntyre Blankenship Gaines Palacios Cuevas Bartlett Durham Dorsey McCall O'Donnell
Stein Browning Stout Lowery Sloan McLean Hendricks Calhoun Sexton Chung Gentry Hull Duarte Ellison Nielsen
Gillespie Buck Middleton Sellers Leblanc Esparza Hardin Bradshaw McIntosh Howe Livingston Frost Glass Morse
Knapp Herman Stark Bravo Noble Spears Weeks Corona Frederick Buckley McFarland Hebert Enriquez Hickman
Quintero Randolph Schaefer Walls Trejo House Reilly Pennington Michael Conrad Giles Benjamin Crosby
Fitzpatrick Donovan Mays Mahoney Valentine Raymond Medrano Hahn McMillan Small Bentley Felix Peck Lucero
Boyle Hanna Pace Rush Hurley Harding McConnell Bernal Nava Ayers Everett Ventura Avery Pugh Mayer Bender
Shepard McMahon Landry Case Sampson Moses Magana Blackburn Dunlap Gould Duffy Vaughan Herring McKay Espinosa
Rivers Farley Bernard Ashley Friedman Potts Truong Costa Correa Blevins Nixon Clements Fry Delarosa Best
Benton Lugo Portillo Dougherty Crane Haley Phan Villalobos Blanchard Horne Finley Quintana Lynn Esquivel
Bean Dodson Mullen Xiong Hayden Cano Levy Huber Richmond Moyer Lim Frye Sheppard McCarty Avalos Booker
Waller Parra Woodward Jaramillo Krueger Rasmussen Brandt Peralta Donaldson Stuart Faulkner Maynard Galindo
Coffey Estes Sanford Burch Maddox Vo O'Connell Vu Andersen Spence McPherson Church Schmitt Stanton Leal
Cherry Compton Dudley Sierra Pollard Alfaro Hester Proctor Lu Hinton Novak Good Madden McCann Terrell Jarvis
Dickson Reyna Cantrell Mayo Branch Hendrix Rollins Rowland Whitney Duke Odom Daugherty Travis Tang
""".split()

US_NICKNAMES = {**gen.NICKNAMES, **{
    "Jennifer": ("Jen", "Jenny"), "Patricia": ("Pat", "Patty", "Trish"), "Joshua": ("Josh",), "Jacob": ("Jake",),
    "Jeffrey": ("Jeff",), "Gregory": ("Greg",), "Kimberly": ("Kim",), "Deborah": ("Deb", "Debbie"),
    "Cynthia": ("Cindy",), "Pamela": ("Pam",), "Kathleen": ("Kathy", "Kate"), "Rebecca": ("Becky",),
    "Barbara": ("Barb", "Barbie"), "Judith": ("Judy",), "Beverly": ("Bev",), "Virginia": ("Ginny",),
    "Donald": ("Don", "Donnie"), "Gerald": ("Jerry",), "Eugene": ("Gene",), "Zachary": ("Zach",),
    "Nathan": ("Nate",), "Christina": ("Tina", "Chris"), "Melissa": ("Missy", "Mel"), "Andrea": ("Andi",),
    "Bradley": ("Brad",), "Randall": ("Randy",), "Willie": ("Will",), "Bobby": ("Bob",),
}}

# Victorian England: few names, heavily concentrated (John and Mary about one in ten).
VICTORIAN_FEMALE = """
Mary Elizabeth Sarah Ann Jane Margaret Emma Ellen Hannah Alice Martha Eliza Harriet Catherine Susan Annie
Emily Frances Charlotte Caroline Maria Louisa Fanny Esther Agnes Rebecca Isabella Ada Florence Edith Clara
Lucy Rose Amelia Betsy Jessie Kate Lydia Rachel Ruth Phoebe Matilda Julia Selina Priscilla Mercy Grace Dinah
Keziah Hester Nancy Bridget Honora Beatrice Ethel Gertrude Lilian Mabel Maud Violet Winifred Minnie Nellie
Sophia Georgina Henrietta Rosina Jemima Lavinia Leah Naomi Patience Susannah Elizabeth Anne Charity Hephzibah
""".split()
VICTORIAN_MALE = """
John William Thomas James George Joseph Henry Charles Richard Robert Edward Samuel David Frederick Alfred
Arthur Walter Albert Benjamin Daniel Edwin Francis Peter Isaac Matthew Stephen Harry Ernest Herbert Frank
Tom Jacob Job Abraham Alexander Andrew Hugh Michael Patrick Philip Mark Jonathan Joshua Enoch Elijah Levi
Moses Aaron Ebenezer Josiah Jesse Reuben Simeon Silas Eli Amos Noah Uriah Edmund Ralph Roger Horace Sidney
Percy Harold Reginald Cecil Wilfred Owen Evan Griffith Lewis Morgan Duncan Angus Archibald Jabez Obadiah
""".split()
VICTORIAN_ABBREVIATIONS = {
    "William": ("Wm", "Willm"), "John": ("Jno", "Jn"), "James": ("Jas",), "Thomas": ("Thos", "Tho"),
    "George": ("Geo",), "Charles": ("Chas",), "Richard": ("Richd", "Rich"), "Robert": ("Robt",),
    "Edward": ("Edwd", "Edw"), "Samuel": ("Saml", "Sam"), "Benjamin": ("Benjn", "Benj"), "Frederick": ("Fredk", "Fred"),
    "Joseph": ("Jos",), "Henry": ("Hy", "Harry"), "Daniel": ("Danl",), "Alexander": ("Alexr", "Alex"),
    "Elizabeth": ("Eliz", "Elizth", "Betsy", "Eliza"), "Margaret": ("Margt", "Peggy"), "Catherine": ("Cath", "Kitty"),
    "Hannah": ("Hanah", "Anna"), "Ann": ("Anne", "Nancy"), "Mary": ("Mary Ann", "Polly"), "Sarah": ("Sara", "Sally"),
    "Susannah": ("Susan", "Susanna"), "Jane": ("Jenny",), "Ellen": ("Helen", "Nellie"), "Harriet": ("Harriett",),
    "Esther": ("Hester",), "Isabella": ("Isabel", "Bella"), "Frances": ("Fanny",), "Martha": ("Patty",),
}


_VOWEL = set("aeiouy")


def _invented(r: random.Random, real: Sequence[str], n: int, taken: set[str]) -> list[str]:
    """`n` new names that look like `real` ones: the start of one real name joined to the
    end of another at a vowel-consonant boundary (Pe|terson + Gal|lagher -> Pellagher)."""
    heads, tails = [], []
    for name in real:
        low = name.lower()
        if not low.isalpha():
            continue
        for k in range(1, len(low) - 2):
            if low[k] in _VOWEL and low[k + 1] not in _VOWEL:
                heads.append(name[:k + 1])
                tails.append(low[k + 1:])
    seen = {t.lower() for t in taken}
    out: list[str] = []
    for _ in range(n * 20 if heads else 0):  # short lists can't give `n`: as many as they can
        if len(out) == n:
            break
        s = r.choice(heads) + r.choice(tails)
        if not 3 <= len(s) <= 12 or re.search(r"(.)\1\1|[^aeiouy]{4}", s.lower()) or s.lower() in seen:
            continue
        seen.add(s.lower())
        out.append(s[0].upper() + s[1:])
    return out


@dataclass
class _Names:
    female: np.ndarray
    male: np.ndarray
    female_w: np.ndarray
    male_w: np.ndarray
    surnames: np.ndarray
    surname_w: np.ndarray
    nicknames: dict[str, tuple[str, ...]]

    def first(self, g: np.random.Generator, female: np.ndarray) -> np.ndarray:
        out = np.empty(len(female), dtype=object)
        nf = int(female.sum())
        out[female] = self.female[g.choice(len(self.female), nf, p=self.female_w)]
        out[~female] = self.male[g.choice(len(self.male), len(female) - nf, p=self.male_w)]
        return out

    def last(self, g: np.random.Generator, n: int) -> np.ndarray:
        return self.surnames[g.choice(len(self.surnames), n, p=self.surname_w)]

    def commonest_first(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.female[:k], self.male[:k]

    def nickname(self, name: str, r: random.Random) -> str | None:
        nicks = self.nicknames.get(name)
        return r.choice(nicks) if nicks else None


@functools.cache
def _names(kind: str) -> _Names:
    """A population's names: real names in order of popularity, then an invented tail.

    The Zipf weights run over the whole list, so the head is common (the top first name
    about 3% of a sex, the top surname about 1%) and most surnames are rare."""
    r = random.Random(f"names-{kind}")
    if kind == "us":
        female, male, surnames = list(dict.fromkeys(US_FEMALE)), list(dict.fromkeys(US_MALE)), US_SURNAMES
        nicks = US_NICKNAMES
        tails = (1200, 1200, 14000)
        skew = ((1.1, 5.0), (1.1, 5.0), (1.0, 12.0))
    elif kind == "uk":
        female, male, surnames = gen.FEMALE_FIRST_NAMES, gen.MALE_FIRST_NAMES, gen.SURNAMES
        nicks = gen.NICKNAMES
        tails = (800, 800, 9000)
        skew = ((1.1, 5.0), (1.1, 5.0), (1.0, 12.0))
    elif kind == "victorian":
        female, male = list(dict.fromkeys(VICTORIAN_FEMALE)), list(dict.fromkeys(VICTORIAN_MALE))
        surnames = [s for s in gen.SURNAMES if s not in {"Patel", "Khan", "Singh", "Begum", "Ali", "Hussain", "Ahmed",
                                                         "Kaur", "Akhtar", "Bibi", "Chen", "Wang", "Nowak", "Kowalski",
                                                         "Mahmood", "Iqbal", "Rahman", "Chowdhury", "Sharma", "Gupta",
                                                         "Kumar", "Nguyen", "Okafor", "Adeyemi", "Mensah", "Osei",
                                                         "Costa", "Silva", "Rossi", "Shah"}]
        nicks = VICTORIAN_ABBREVIATIONS
        tails = (60, 60, 6000)
        skew = ((1.15, 2.0), (1.15, 2.0), (1.0, 8.0))
    else:
        raise ValueError(kind)
    taken = set(female) | set(male) | set(surnames)
    female = list(female) + _invented(r, female, tails[0], taken)
    male = list(male) + _invented(r, male, tails[1], taken | set(female))
    surnames = list(surnames) + _invented(r, surnames, tails[2], taken | set(female) | set(male))
    return _Names(np.array(female, dtype=object), np.array(male, dtype=object), _zipf(len(female), *skew[0]),
                  _zipf(len(male), *skew[1]), np.array(surnames, dtype=object), _zipf(len(surnames), *skew[2]), nicks)


# --- US towns, zips, streets, phones, emails ---------------------------------------------

_TOWN_STEMS = """
Spring Green Oak Cedar Maple Pine Elm Ash Willow River Lake Fair Clear Rock Stone Mill Bridge Glen Brook Wood
Hazel Cherry Apple Sand Red White Black Blue Gold Silver Iron Eagle Hawk Fox Deer Bear Wolf Elk Turkey
Pleasant Hope Harmony Concord Shel Burling Kings Charles Ham Ches Lex Dur Ral Wil Hick Gas Clay Frank Mad
Jack Lin Marion Salis Bel Hunt Wash Mor Pitts Ather Ox Burk Stan Bur Hen Rox Reids Mocks Boon King Eden Haw
Dun Ker Lum Beth Cole Ellen Fay Gar Hart Holly Kin Liber Mar Mount New Nor Pem Rich Rut Sal Sum Tay Union
Val Ware Wel Wins Yad Ab Al Ans Ap Ar Aver Bay Ben Bes Bla Bol Bre Cam Car Cas Cen Cla Col Con Cor Dal Dan
Dav Den Dob Ed Elk En Far Fle Fre Gib Gra Gre Hal Han Har Hay Her Hol Hop Jef Kel Ken Lan Lau Lel Lew Lou
Man Max Mel Mid Mil Mon Mul Nash Oak Pel Pen Per Plym Pol Rand Ro Ros Sel Sil Smith Sta Ster Tar Tho Tra Troy
""".split()
_TOWN_ENDS = ("ville ton ford field burg boro wood dale land port view mont ridge haven ley bury ham chester "
              "side creek town wick mouth dell worth ston by").split()
_TOWN_WORDS = """
Jackson Franklin Madison Lincoln Washington Clinton Marion Union Liberty Salem Cary Boone Hope Grant Pine
Cedar Oak Laurel Shady Indian Walnut Rocky Sugar Stony Cherry Mountain Forest Piney Sandy Mill Bethel Zion
Shiloh Carmel Olive Gilead Airy Holly Crescent Locust Spruce Fairview Bear Beaver Turkey Buck Hickory Poplar
""".split()
_TOWN_FORMS = ("{} City", "{} Springs", "{} Falls", "{} Grove", "{} Hill", "Lake {}", "Mount {}", "Fort {}",
               "New {}", "{} Beach", "{} Park", "{} Heights", "{} Junction", "{} Valley", "{} Mills", "{} Creek",
               "East {}", "West {}", "North {}", "South {}", "Saint {}", "{} Ridge", "{} Point")
_TOWN_ABBREVIATIONS = (("Saint ", "St "), ("Mount ", "Mt "), ("Fort ", "Ft "), ("North ", "N "), ("South ", "S "),
                       ("East ", "E "), ("West ", "W "), (" Springs", " Spgs"), (" Heights", " Hts"),
                       (" Junction", " Jct"), (" Beach", " Bch"), (" City", ""))
US_STATES = (("NC", 24, 27), ("VA", 10, 22), ("SC", 8, 29), ("GA", 12, 30), ("TN", 8, 37), ("FL", 14, 32),
             ("OH", 9, 43), ("PA", 10, 15), ("NY", 12, 10), ("TX", 16, 75), ("CA", 18, 90), ("IL", 8, 60))
US_STREETS = """
Main|Oak|Maple|Washington|Park|Elm|Pine|Cedar|Lake|Hill|Church|Walnut|Spruce|Lincoln|Jefferson|Madison|Franklin
Jackson|Center|Mill|Spring|Ridge|Sunset|Highland|Meadow|Forest|Valley|Dogwood|Magnolia|Hickory|Poplar|Sycamore
Cherry|Chestnut|Willow|Laurel|College|Academy|Broad|Market|Railroad|Depot|Union|Liberty|Pleasant|Green|Water
River|Cypress|Holly|Birch|Beech|Peachtree|Pecan|Live Oak|Country Club|Old Mill|Fox Run|Deer Creek|Stonegate
Brookside|Lakeview|Riverside|Fairway|Woodland|Hillcrest|Ridgeview|Crestview|Oakwood|Pinecrest|Briarwood
Greenbriar|Foxfire|Wilson|Adams|Monroe|Grant|Harrison|Taylor|Polk|Tyler|Hayes|Johnson|Morgan|Jordan|Carolina
Virginia|Georgia|Rolling Hills|Shady Grove|Indian Trail|Bethel Church|Mount Olive|Cherry Hill|Pine Valley
""".replace("\n", "|").strip("|").split("|")
US_STREET_TYPES = ((28, "St", "Street"), (18, "Ave", "Avenue"), (20, "Rd", "Road"), (14, "Dr", "Drive"),
                   (8, "Ln", "Lane"), (6, "Ct", "Court"), (4, "Blvd", "Boulevard"), (4, "Way", "Way"),
                   (3, "Pl", "Place"), (4, "Cir", "Circle"), (3, "Trl", "Trail"), (2, "Pkwy", "Parkway"),
                   (2, "Hwy", "Highway"))
US_EMAIL_DOMAINS = ((30, "gmail.com"), (15, "yahoo.com"), (8, "hotmail.com"), (5, "aol.com"), (5, "outlook.com"),
                    (4, "icloud.com"), (3, "comcast.net"), (2, "att.net"), (2, "verizon.net"), (1, "msn.com"),
                    (2, "bellsouth.net"), (1, "charter.net"), (1, "sbcglobal.net"), (1, "live.com"))
UK_EMAIL_DOMAINS = tuple((w, d) for w, d in gen.EMAIL_PROVIDERS)
EMAIL_FORMS = ((30, "{f}.{l}"), (12, "{f}{l}"), (8, "{i}{l}"), (6, "{f}_{l}"), (10, "{f}.{l}{nn}"),
               (8, "{f}{l}{yyyy}"), (7, "{i}{l}{nn}"), (5, "{l}.{f}"), (6, "{f}{nnn}"), (5, "{f}{l}{yy}"),
               (3, "{l}{i}"))
PLACEHOLDER_EMAILS = ((40, "noemail@example.com"), (10, "none@none.com"), (10, "no@email.com"), (8, "na@na.com"),
                      (8, "noemail@gmail.com"), (6, "test@test.com"), (6, "unknown@unknown.com"), (4, "x@x.com"),
                      (4, "donotreply@example.com"), (4, "customer@example.com"))


@dataclass
class _Towns:
    names: list[str]
    weights: np.ndarray
    state: list[str]
    zips: list[list[str]]
    zip_weights: list[np.ndarray]

    def __post_init__(self):
        self.zip_cum = [np.cumsum(w).tolist() for w in self.zip_weights]

    def zip_at(self, town: int, u: float) -> str:
        """The town's zip at quantile u of its (skewed) zip sizes."""
        cum = self.zip_cum[town]
        k = 0
        while k < len(cum) - 1 and cum[k] < u:
            k += 1
        return self.zips[town][k]

    def sample(self, g: np.random.Generator, n: int) -> tuple[np.ndarray, list[str]]:
        town = g.choice(len(self.names), n, p=self.weights)
        return town, [self.zip_at(t, x) for t, x in zip(town.tolist(), g.random(n).tolist(), strict=True)]

    def other_zip(self, town: int, z: str, r: random.Random) -> str:
        """Another valid zip of the same town, or a neighbouring one."""
        options = [x for x in self.zips[town] if x != z]
        if options and r.random() < 0.7:
            return r.choice(options)
        return f"{min(99999, max(501, int(z) + r.choice((-3, -2, -1, 1, 2, 3)))):05d}"

    def variant(self, town: int, r: random.Random) -> str:
        """The town written another valid way (St/Saint, Mt/Mount, no 'City')."""
        name = self.names[town]
        for full, short in _TOWN_ABBREVIATIONS:
            if full in f" {name} ":
                return f" {name} ".replace(full, short, 1).strip() if r.random() < 0.8 else name.replace(" ", "-")
        return name.replace(" ", "-") if " " in name else name


@functools.cache
def _us_towns(n: int, states: tuple[tuple[str, int, int], ...]) -> _Towns:
    """`n` invented towns with Zipf sizes (of 2,000: the biggest 9% of people, the ten biggest
    a third, as North Carolina's cities), each with zips
    numbered within its state's range: one for a village, up to 40 for a city."""
    r = random.Random(f"towns-{n}-{len(states)}")
    g = np.random.default_rng(zlib.crc32(f"towns-{n}-{len(states)}".encode()))
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        roll = r.random()
        if roll < 0.55:
            name = r.choice(_TOWN_STEMS) + r.choice(_TOWN_ENDS)
        elif roll < 0.85:
            base = r.choice(_TOWN_WORDS) if r.random() < 0.6 else r.choice(_TOWN_STEMS) + r.choice(_TOWN_ENDS)
            name = r.choice(_TOWN_FORMS).format(base)
        else:
            name = r.choice(_TOWN_STEMS) + r.choice(_TOWN_ENDS) + " " + r.choice(("City", "Springs", "Hill", "Grove"))
        name = name[0].upper() + name[1:]
        if name not in seen:
            seen.add(name)
            names.append(name)
    weights = _zipf(n, 1.0, 1.5)
    state_w = np.array([s[1] for s in states], float)
    state_of = g.choice(len(states), n, p=state_w / state_w.sum())
    n_zips = np.clip(np.ceil(weights * n / 6), 1, 40).astype(int)
    zips: list[list[str]] = [[] for _ in range(n)]
    for s, (_, _, prefix) in enumerate(states):
        at = prefix * 1000 + 5
        for t in g.permutation(np.flatnonzero(state_of == s)).tolist():
            steps = g.integers(1, 3, n_zips[t])
            codes = at + np.cumsum(steps)
            at = int(codes[-1]) + int(g.integers(1, 4))
            zips[t] = [f"{c % 100000:05d}" for c in codes.tolist()]
    zip_w = [_zipf(len(z), 0.7, 1.5) for z in zips]
    return _Towns(names, weights, [states[s][0] for s in state_of.tolist()], zips, zip_w)


_ISSUED: set[str] = set()  # the addresses given out in this shape: a provider never gives one twice


def _email(first: str, last: str, year: int, r: random.Random, domains) -> str:
    """A personal address made from the name, as people choose them; one already taken
    gets digits, as a provider insists (sarahbrown@ for one Sarah Brown, sarahbrown27@
    for the next): namesakes never share a personal address."""
    f = re.sub(r"[^a-z]", "", _ascii(first).lower()) or "x"
    lst = re.sub(r"[^a-z]", "", _ascii(last).lower()) or "y"
    local = _weighted(EMAIL_FORMS, r).format(f=f, l=lst, i=f[0], nn=r.randint(1, 99), nnn=r.randint(100, 999),
                                             yyyy=year, yy=f"{year % 100:02d}")
    return _issue(local, _weighted(domains, r), r)


def _issue(local: str, domain: str, r: random.Random) -> str:
    """The address, or with digits added when it is taken already."""
    address = f"{local}@{domain}"
    while address in _ISSUED:
        address = f"{local}{r.randint(1, 999)}@{domain}"
    _ISSUED.add(address)
    return address


def _us_street(r: random.Random) -> tuple[int, str, str, str]:
    """(number, name, type abbreviation, type written out)."""
    number = int(min(9999, 1 + r.gammavariate(1.2, 900)))
    _, short, full = _weighted([(w, (w, s, f)) for w, s, f in US_STREET_TYPES], r)
    name = r.choice(US_STREETS)
    if r.random() < 0.12:
        name = r.choice("NSEW") + " " + name
    return number, name, short, full


def _us_address_text(street: tuple[int, str, str, str], unit: str | None, r: random.Random) -> str:
    number, name, short, full = street
    kind = full if r.random() < 0.3 else short + ("." if r.random() < 0.15 else "")
    text = f"{number} {name} {kind}"
    if unit:
        text += r.choice((f" Apt {unit}", f" #{unit}", f", Apt {unit}", f" Unit {unit}"))
    return text


# --- UK places ---------------------------------------------------------------------------


@functools.cache
def _uk_places() -> tuple[list[str], np.ndarray, list[list[str]]]:
    names, weights, districts = [], [], []
    for line in gen.CITIES.strip().splitlines():
        name, weight, specs = line.split("|")
        ds = []
        for spec in specs.split(","):
            area, span = spec.split()
            lo, hi = span.split("-")
            ds += [f"{area}{k}" for k in range(int(lo), int(hi) + 1)]
        names.append(name)
        weights.append(float(weight))
        districts.append(ds)
    w = np.array(weights)
    return names, w / w.sum(), districts


def _uk_postcode(district: str, r: random.Random) -> str:
    return f"{district} {r.randint(1, 9)}{r.choice(gen.POSTCODE_INWARD_LETTERS)}{r.choice(gen.POSTCODE_INWARD_LETTERS)}"


def _uk_street(r: random.Random) -> tuple[int, str, str, str]:
    number = int(min(400, 1 + r.gammavariate(1.3, 30)))
    _, full, short = _weighted([(w, (w, f, s)) for w, f, s in gen.STREET_TYPES], r)
    return number, r.choice(gen.STREET_NAMES), short, full


def _uk_address_text(street: tuple[int, str, str, str], r: random.Random) -> str:
    number, name, short, full = street
    return f"{number} {name} {short if r.random() < 0.3 else full}"


_UK_MOBILE_FORMATS = ((35, "07{a} {b}"), (25, "07{a}{b}"), (20, "+44 7{a} {b}"), (10, "+447{a}{b}"),
                      (5, "(07{a}) {b}"), (5, "0044 7{a} {b}"))


def _uk_mobile(r: random.Random) -> str:
    """07 and nine digits: 07712 345678."""
    return f"07{r.choice(gen.MOBILE_PREFIXES)[1]}{r.randint(0, 99):02d}{r.randint(0, 999999):06d}"


def _uk_landline(r: random.Random) -> str:
    _, area, digits = _weighted([(w, (w, a, d)) for w, a, d in gen.LANDLINE_AREAS], r)
    return f"0{area} {r.randint(2 * 10 ** (digits - 1), 10 ** digits - 1)}"


def _uk_phone_text(phone: str, r: random.Random) -> str:
    if not phone.startswith("07"):  # a landline, as given
        return phone if r.random() < 0.6 else phone.replace(" ", "")
    return _weighted(_UK_MOBILE_FORMATS, r).format(a=phone[2:5], b=phone[5:])


# ======================================================================================
# People and records
# ======================================================================================


def _ages_to_dob(g: np.random.Generator, ages: np.ndarray, today: str = "2025-06-30") -> list[dt.date]:
    days = (ages * 365.25 + g.integers(0, 365, len(ages))).astype(int)
    base = dt.date.fromisoformat(today)
    return [base - dt.timedelta(days=int(d)) for d in days.tolist()]


def _dob_at_age(age: float, r: random.Random, today: dt.date = dt.date(2025, 6, 30)) -> dt.date:
    return today - dt.timedelta(days=int(age * 365.25) + r.randrange(365))


def _adult_ages(g: np.random.Generator, n: int) -> np.ndarray:
    return 18 + (g.beta(1.4, 1.9, n) * 72)


def _spread(g: np.random.Generator, n_people: int, shares: Sequence[float], dup: float,
            records: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Records (person, source) for the first people of a population: each person is in
    each source with its share (in one at least), with a duplicate there at rate `dup`
    (a second one at dup^2); cut at exactly `records`. None when the people run out."""
    s = len(shares)
    member = g.random((n_people, s)) < np.asarray(shares)
    none = ~member.any(axis=1)
    p = np.asarray(shares) / np.sum(shares)
    member[np.flatnonzero(none), g.choice(s, int(none.sum()), p=p)] = True
    counts = member.astype(int) * (1 + (g.random((n_people, s)) < dup) + (g.random((n_people, s)) < dup * dup))
    per_person = counts.sum(axis=1)
    total = np.cumsum(per_person)
    if total[-1] < records:
        return None
    last = int(np.searchsorted(total, records))
    counts = counts[: last + 1]
    person = np.repeat(np.arange(last + 1), counts.sum(axis=1))
    source = np.concatenate([np.repeat(np.arange(s), row) for row in counts]) if len(counts) else np.zeros(0, int)
    return person[:records], source[:records]


def _build(ctx: _Ctx, records: int, per_record: float, population: Callable[[int], object],
           shares: Sequence[float], dup: float):
    """A population just big enough for `records` records, and its records."""
    n = int(records / per_record * 1.15) + 10
    while True:
        pop = population(n)
        spread = _spread(ctx.g, len(pop.first), shares, dup, records)
        if spread is not None:
            return pop, spread[0], spread[1]
        n = int(n * 1.3) + 10


def _render(ctx: _Ctx, names: Sequence[str], person: np.ndarray, source: np.ndarray,
            render: Callable[[int, int, random.Random], dict[str, str | None]],
            id_columns: Sequence[str], id_prefixes: Sequence[str], mappings: Sequence[dict[str, str]],
            attributes: Sequence[list[str]] | None = None) -> list[_Source]:
    """One _Source per source: rows in a shuffled order, values from `render(source, person, r)`."""
    out = []
    order = ctx.g.permutation(len(person))
    person, source = person[order], source[order]
    for s, name in enumerate(names):
        rows = np.flatnonzero(source == s)
        values = [render(s, int(p), ctx.r) for p in person[rows].tolist()]
        columns: dict[str, list] = {id_columns[s]: _ids(ctx.g, len(rows), 8, id_prefixes[s])}
        keys = list(values[0]) if values else list(mappings[s].values())
        for k in keys:
            columns[k] = [v[k] for v in values]
        out.append(_Source(name, id_columns[s], columns, person[rows].tolist(), mappings[s],
                           list(attributes[s]) if attributes else []))
    return out


def _maybe(value, r: random.Random, missing: float):
    return None if value is None or r.random() < missing else value


def _noisy(value: str | None, r: random.Random, rate: float, missing: float = 0.0) -> str | None:
    if value is None or r.random() < missing:
        return None
    if r.random() < rate:
        return typo(value, r, 2 if r.random() < 0.2 else 1)
    return value


def _noisy_date(d: dt.date | None, fmt: str, r: random.Random, rate: float, missing: float) -> str | None:
    if d is None or r.random() < missing:
        return None
    if r.random() < rate:
        if r.random() < 0.8:
            d = date_error(d, r)
        else:
            return typo(d.strftime(fmt), r)
    return d.strftime(fmt)


# ======================================================================================
# Shapes
# ======================================================================================


def _parties(ctx: _Ctx, records: int, *, parties: int, count_weights: Sequence[float], ocp: float,
             dob: bool, per_record: bool = False, typos_only: bool = False) -> list[_Source]:
    """Parties that each hold a person at most once (voter lists, many parties): every field
    of every record is corrupted with probability `ocp`: a typo (70%: one to two edits,
    OCR and phonetic errors among them), another valid value (20%: a nickname or
    another first name, another surname, a move to another town and zip, another zip of
    the town or the town written another way) or nothing (10%).

    With `per_record`, corruption follows the DPPRL NCVR files instead (measured on
    ../shared/data/ncvr500: at ocp 40, 42% of records differ from their person's commonest
    values, nearly all in exactly two fields, each by one edit): a record is corrupted with
    probability `ocp`, and then two of its four fields get one typo each. With `typos_only`,
    every corruption is a typo."""
    g, r = ctx.g, ctx.r
    ks = np.arange(1, len(count_weights) + 1)
    p = np.asarray(count_weights, float) / np.sum(count_weights)
    n = max(1, round(records / float((ks * p).sum())))
    k = g.choice(ks, n, p=p)
    hi = min(parties, len(count_weights))
    while (diff := records - int(k.sum())) != 0:  # hit the record count exactly
        pool = np.flatnonzero(k < hi) if diff > 0 else np.flatnonzero(k > 1)
        pick = g.choice(pool, min(abs(diff), len(pool)), replace=False)
        k[pick] += 1 if diff > 0 else -1
    names = _names("us")
    towns = _us_towns(2000, (US_STATES[0],))
    female = g.random(n) < 0.52
    first = names.first(g, female).tolist()
    last = names.last(g, n).tolist()
    town, zips = towns.sample(g, n)
    town = town.tolist()
    dobs = _ages_to_dob(g, _adult_ages(g, n)) if dob else None
    order = np.argsort(g.random((n, parties)), axis=1)
    styles = ["lower", "upper", "lower", "title", "lower"]

    def corrupt_kind(field: int, hit: set[int]) -> int | None:
        """How to corrupt field `field` (0-3) of a record; `hit`: per_record, its fields to corrupt."""
        if per_record:
            return 0 if field in hit else None
        if r.random() >= ocp:
            return None
        return 0 if typos_only else _weighted(((70, 0), (20, 1), (10, 2)), r)

    def edit(value: str) -> str:
        return typo(value, r, 1 if per_record or r.random() >= 0.3 else 2)

    held: list[list[int]] = [[] for _ in range(parties)]
    for i, ki in enumerate(k.tolist()):
        for party in order[i, :ki].tolist():
            held[party].append(i)
    out = []
    for party in range(parties):
        rows = []
        for i in held[party]:
            f, s, t, z = first[i], last[i], town[i], zips[i]
            city = towns.names[t]
            hit = set(r.sample(range(4), 2)) if per_record and r.random() < ocp else set()
            kind = corrupt_kind(0, hit)
            if kind == 0:
                f = edit(f)
            elif kind == 1:
                f = names.nickname(f, r) or ctx.first(names, bool(female[i]))
            elif kind == 2:
                f = None
            kind = corrupt_kind(1, hit)
            if kind == 0:
                s = edit(s)
            elif kind == 1:
                s = ctx.last(names) if r.random() < 0.7 else f"{s}-{ctx.last(names)}"
            elif kind == 2:
                s = None
            kind = corrupt_kind(2, hit)
            if kind == 1 and r.random() < 0.6:  # moved: another town, and mostly its zip
                t2, z2 = ctx.town(towns)
                city = towns.names[t2]
                if r.random() < 0.8:
                    z = z2
            elif kind == 1:
                city = towns.variant(t, r)
            elif kind == 0:
                city = edit(city)
            elif kind == 2:
                city = None
            kind = corrupt_kind(3, hit)
            if kind == 0:
                z = edit(z)
            elif kind == 1:
                z = towns.other_zip(t, z, r)
            elif kind == 2:
                z = None
            style = styles[party % len(styles)]
            row = {"given_name": _case(f, style), "surname": _case(s, style), "city": _case(city, style), "zip": z}
            if dob:
                row["birth_date"] = _noisy_date(dobs[i], "%Y-%m-%d", r, ocp * 0.9, ocp * 0.1)
            rows.append(row)
        columns: dict[str, list] = {"voter_id": _ids(g, len(rows), 8)}
        for key in (rows[0] if rows else {}):
            columns[key] = [row[key] for row in rows]
        mapping = {"first_name": "given_name", "last_name": "surname", "city": "city", "postcode": "zip"}
        if dob:
            mapping["date_of_birth"] = "birth_date"
        out.append(_Source(f"party{party}", "voter_id", columns, held[party], mapping))
    return out


def _voter_lists(ctx: _Ctx, records: int) -> list[_Source]:
    # As the DPPRL voter lists: of 1,800 people, 1,550 in one party, 50 each in two, three
    # and four, 100 in all five (2,500 records); here scaled to `records`.
    return _parties(ctx, records, parties=5, count_weights=(1550, 50, 50, 50, 100), ocp=1 / 3, dob=False)


def _voter_lists_heavy(ctx: _Ctx, records: int) -> list[_Source]:
    return _parties(ctx, records, parties=5, count_weights=(1550, 50, 50, 50, 100), ocp=0.55, dob=False)


def _voter_field_typos(ctx: _Ctx, records: int) -> list[_Source]:
    return _parties(ctx, records, parties=5, count_weights=(1550, 50, 50, 50, 100), ocp=1 / 3, dob=False,
                    typos_only=True)


def _voter_field_typos_heavy(ctx: _Ctx, records: int) -> list[_Source]:
    return _parties(ctx, records, parties=5, count_weights=(1550, 50, 50, 50, 100), ocp=0.55, dob=False,
                    typos_only=True)


def _voter_typos(ctx: _Ctx, records: int) -> list[_Source]:
    return _parties(ctx, records, parties=5, count_weights=(1550, 50, 50, 50, 100), ocp=0.4, dob=False,
                    per_record=True)


def _voter_typos_heavy(ctx: _Ctx, records: int) -> list[_Source]:
    return _parties(ctx, records, parties=5, count_weights=(1550, 50, 50, 50, 100), ocp=0.8, dob=False,
                    per_record=True)


def _many_parties(ctx: _Ctx, records: int) -> list[_Source]:
    return _parties(ctx, records, parties=20, count_weights=[0.6 ** j for j in range(20)], ocp=0.2, dob=True)


@dataclass
class _Pop:
    """People as parallel lists (index = person)."""

    female: list[bool]
    first: list[str]
    last: list[str]
    dob: list[dt.date]
    extra: dict[str, list] = field(default_factory=dict)


def _basic_people(ctx: _Ctx, n: int, kind: str) -> _Pop:
    g = ctx.g
    names = _names(kind)
    female = g.random(n) < 0.51
    return _Pop(female.tolist(), names.first(g, female).tolist(), names.last(g, n).tolist(),
                _ages_to_dob(g, _adult_ages(g, n)))


def _first_variant(name: str, names: _Names, r: random.Random, typo_rate: float, nick_rate: float) -> str:
    if r.random() < nick_rate:
        nick = names.nickname(name, r)
        if nick:
            return nick
    return typo(name, r) if r.random() < typo_rate else name


def _names_dob(ctx: _Ctx, records: int) -> list[_Source]:
    """Names and dob only: nicknames 6%, name typos 8%, a married surname for 10% of
    women (records show either), dob wrong 7% and missing 4%."""
    names = _names("uk")

    def population(n: int) -> _Pop:
        pop = _basic_people(ctx, n, "uk")
        married = (ctx.g.random(n) < 0.1) & np.array(pop.female)
        new = names.last(ctx.g, n)
        pop.extra["married"] = [str(new[i]) if married[i] else None for i in range(n)]
        return pop

    pop, person, source = _build(ctx, records, 1.6, population, (0.75, 0.55), 0.08)

    def render(s: int, i: int, r: random.Random) -> dict:
        last = pop.extra["married"][i] if pop.extra["married"][i] and r.random() < 0.5 else pop.last[i]
        style = "upper" if s == 0 and r.random() < 0.5 else "as is"
        return {"forename" if s == 0 else "first_name": _case(_first_variant(pop.first[i], names, r, 0.08, 0.06), style),
                "surname" if s == 0 else "last_name": _case(_noisy(last, r, 0.08, 0.01), style),
                "birth_date" if s == 0 else "dob": _noisy_date(pop.dob[i], ("%Y-%m-%d", "%d/%m/%Y")[s], r, 0.07, 0.04)}

    return _render(ctx, ("registry", "clinic"), person, source, render, ("person_ref", "patient_id"), ("R", "C"),
                   ({"first_name": "forename", "last_name": "surname", "date_of_birth": "birth_date"},
                    {"first_name": "first_name", "last_name": "last_name", "date_of_birth": "dob"}))


def _families(g: np.random.Generator, n: int, sizes: Sequence[float]) -> np.ndarray:
    """A family number per person, families of 1, 2, ... people with the given weights."""
    p = np.asarray(sizes, float) / np.sum(sizes)
    k = g.choice(np.arange(1, len(sizes) + 1), n, p=p)
    return np.repeat(np.arange(n), k)[:n]


def _names_email(ctx: _Ctx, records: int) -> list[_Source]:
    """Names and email only: emails made from names (5 in 6 people have one, 1 in 5 a
    second, work address); 1 in 8 people share a family inbox with housemates of the same
    surname, used on 60% of their records; placeholder emails on 4% of records (ten
    placeholders, noemail@example.com the commonest); email missing 8%, mistyped 4%."""
    g = ctx.g
    names = _names("uk")

    def population(n: int) -> _Pop:
        pop = _basic_people(ctx, n, "uk")
        r = ctx.r
        family = _families(g, n, (88, 6, 4, 2))
        head_last = {}
        inbox: dict[int, str | None] = {}
        personal, work, shared = [], [], []
        for i in range(n):
            f = int(family[i])
            if f in head_last:
                pop.last[i] = head_last[f]
            else:
                head_last[f] = pop.last[i]
            year = pop.dob[i].year
            personal.append(_email(pop.first[i], pop.last[i], year, r, UK_EMAIL_DOMAINS) if r.random() < 0.85 else None)
            work.append(f"{_ascii(pop.first[i]).lower()}.{_ascii(pop.last[i]).lower().replace(' ', '')}@"
                        f"{r.choice(_COMPANIES)}.co.uk" if r.random() < 0.2 else None)
            shared.append(f)
        sizes = np.bincount(family)
        for f in set(shared):
            if sizes[f] > 1:
                last = re.sub(r"[^a-z]", "", head_last[f].lower())
                inbox[f] = _weighted(((3, f"the{last}s"), (3, f"{last}family"), (2, f"{last}.family"),
                                      (2, f"{last}household"), (1, f"{last}{r.randint(1, 99)}")), r) + "@" + \
                    _weighted(UK_EMAIL_DOMAINS, r)
        pop.extra.update(personal=personal, work=work, inbox=[inbox.get(f) for f in shared])
        return pop

    pop, person, source = _build(ctx, records, 1.7, population, (0.7, 0.5, 0.3), 0.06)

    def render(s: int, i: int, r: random.Random) -> dict:
        roll = r.random()
        if roll < 0.04:
            email = _weighted(PLACEHOLDER_EMAILS, r)
        elif pop.extra["inbox"][i] and r.random() < 0.6:
            email = pop.extra["inbox"][i]
        elif pop.extra["work"][i] and r.random() < 0.3:
            email = pop.extra["work"][i]
        else:
            email = pop.extra["personal"][i] or pop.extra["work"][i]
        if email and r.random() < 0.04:
            email = email_typo(email, r)
        if email and r.random() < 0.04:
            email = email.upper() if r.random() < 0.5 else email.capitalize()
        return {"first_name": _first_variant(pop.first[i], names, r, 0.06, 0.08),
                "last_name": _noisy(pop.last[i], r, 0.06, 0.01), "email": _maybe(email, r, 0.08)}

    mapping = {"first_name": "first_name", "last_name": "last_name", "email": "email"}
    return _render(ctx, ("shop", "newsletter", "support"), person, source, render,
                   ("customer_id", "signup_id", "ticket_contact"), ("S", "N", "T"), (mapping, mapping, mapping))


_COMPANIES = ("acme-logistics", "northgate", "bluewave", "harrisons", "kestrel-group", "parkview-health",
              "redline", "citycouncil", "brightstar", "unitedfoods", "meridian", "oakleaf")


@dataclass
class _Home:
    street: tuple
    city: str
    postcode: str
    landline: str | None
    inbox: str | None
    last: str


def _uk_home(ctx: _Ctx, last: str, size: int) -> _Home:
    r = ctx.r
    places, weights, districts = _uk_places()
    c = ctx.pick(range(len(places)), weights)
    postcode = _uk_postcode(r.choice(districts[c]), r)
    landline = _uk_landline(r) if r.random() < 0.65 else None
    clean = re.sub(r"[^a-z]", "", last.lower())
    inbox = (f"{_weighted(((3, f'the{clean}s'), (3, f'{clean}family'), (2, f'{clean}.home'), (2, f'{clean}{r.randint(1, 99)}')), r)}"
             f"@{_weighted(UK_EMAIL_DOMAINS, r)}") if size > 1 and r.random() < 0.45 else None
    return _Home(_uk_street(r), places[c], postcode, landline, inbox, last)


def _household_people(ctx: _Ctx, n: int, kind: str = "uk") -> _Pop:
    """People in households of 1-6 (28/35/15/14/6/2%): one or two adults (a partner has
    another surname 20% of the time), children 20-40 years younger with a parent's
    surname; a household shares its address, surname, landline and a family inbox."""
    g, r = ctx.g, ctx.r
    names = _names(kind)
    female, first, last, dob, home, mobile, email = [], [], [], [], [], [], []
    while len(first) < n:
        size = r.choices(range(1, 7), (28, 35, 15, 14, 6, 2))[0]
        surname = ctx.last(names)
        h = _uk_home(ctx, surname, size)
        adults = 1 if size == 1 else (2 if r.random() < 0.85 else 1)
        parent_age = (18 + r.betavariate(1.4, 1.9) * 72) * 0.7 + 12
        for m in range(size):
            is_adult = m < adults
            fem = (m == 1) if (adults == 2 and m < 2) else r.random() < 0.51
            if adults == 2 and m == 0:
                fem = False
            age = (parent_age + r.uniform(-4, 4)) if is_adult else max(0.5, parent_age - r.uniform(20, 40))
            own_last = surname if (m != 1 or r.random() > 0.2 or not is_adult) else ctx.last(names)
            fn = ctx.first(names, fem)
            female.append(fem)
            first.append(fn)
            last.append(own_last)
            dob.append(_dob_at_age(age, r))
            home.append(h)
            mobile.append(_uk_mobile(r) if (age >= 12 and r.random() < (0.85 if age >= 18 else 0.6)) else None)
            email.append(_email(fn, own_last, dob[-1].year, r, UK_EMAIL_DOMAINS)
                         if r.random() < (0.7 if age >= 16 else 0.2) else None)
    pop = _Pop(female[:n], first[:n], last[:n], dob[:n])
    pop.extra.update(home=home[:n], mobile=mobile[:n], email=email[:n])
    return pop


def _home_fields(pop: _Pop, i: int, r: random.Random, typo_rate: float, missing: float) -> dict:
    h: _Home = pop.extra["home"][i]
    email = pop.extra["email"][i]
    if h.inbox and (email is None or r.random() < 0.4):
        email = h.inbox
    phone = pop.extra["mobile"][i]
    if h.landline and (phone is None or r.random() < 0.45):
        phone = h.landline
    return {"email": _maybe(email_typo(email, r) if email and r.random() < typo_rate else email, r, missing),
            "phone": _noisy(_uk_phone_text(phone, r) if phone else None, r, typo_rate, missing),
            "address": _noisy(_uk_address_text(h.street, r), r, typo_rate, missing / 3),
            "city": _noisy(h.city, r, typo_rate / 2, missing),
            "postcode": _noisy(h.postcode if r.random() < 0.9 else h.postcode.replace(" ", ""), r, typo_rate,
                               missing / 2)}


_HOME_MAPPING = {"email": "email", "phone": "phone", "address_line_1": "address", "city": "city",
                 "postcode": "postcode"}


def _households(ctx: _Ctx, records: int) -> list[_Source]:
    """Households (see _household_people) in a CRM, billing and loyalty scheme; typos
    4% per field, nicknames 5%, dob, email and phone missing 8%."""
    names = _names("uk")
    pop, person, source = _build(ctx, records, 1.8, lambda n: _household_people(ctx, n), (0.7, 0.5, 0.4), 0.10)

    def render(s: int, i: int, r: random.Random) -> dict:
        return {"first_name": _first_variant(pop.first[i], names, r, 0.04, 0.05),
                "last_name": _noisy(pop.last[i], r, 0.04), "dob": _noisy_date(pop.dob[i], "%d/%m/%Y", r, 0.04, 0.08),
                **_home_fields(pop, i, r, 0.04, 0.08)}

    mapping = {"first_name": "first_name", "last_name": "last_name", "date_of_birth": "dob", **_HOME_MAPPING}
    return _render(ctx, ("crm", "billing", "loyalty"), person, source, render, ("contact_id", "account_no", "member_id"),
                   ("C", "B", "L"), (mapping, mapping, mapping))


@functools.cache
def _similar_names(kind: str) -> dict[str, list[str]]:
    """Common first names one or two edits apart (Jon/Jan, Ella/Emma, Aidan/Aiden)."""
    from rapidfuzz.distance import Levenshtein
    from rapidfuzz.process import cdist
    names = _names(kind)
    pool = sorted(set(names.female[:250].tolist()) | set(names.male[:250].tolist()) | {"Jon", "Jan", "Aiden",
                                                                                       "Aidan", "Eva", "Ava"})
    d = cdist(pool, pool, scorer=Levenshtein.distance, workers=1)
    out: dict[str, list[str]] = {}
    for a in range(len(pool)):
        near = [pool[b] for b in np.flatnonzero((d[a] > 0) & (d[a] <= (1 if len(pool[a]) <= 4 else 2))).tolist()]
        if near:
            out[pool[a]] = near
    return out


def _twins(ctx: _Ctx, records: int) -> list[_Source]:
    """A third of births are twins (5% of those triplets), so about half the people:
    twins share surname, dob, address and a phone (the household's, on 75% of their
    records); first names differ, a third of the time by one or two letters (Jon/Jan)."""
    g = ctx.g
    names = _names("uk")
    similar = _similar_names("uk")

    def population(n: int) -> _Pop:
        r = ctx.r
        female, first, last, dob, home, phone, email, twin = [], [], [], [], [], [], [], []
        while len(first) < n:
            roll = r.random()
            size = 1 if roll < 0.67 else (3 if roll < 0.67 + 0.33 * 0.05 else 2)
            surname = ctx.last(names)
            h = _uk_home(ctx, surname, size)
            shared_phone = h.landline or _uk_mobile(r)
            birth = _dob_at_age(18 + r.betavariate(1.4, 1.9) * 72, r)
            taken: list[str] = []
            for m in range(size):
                fem = r.random() < 0.51
                fn = ctx.first(names, fem)
                if taken and r.random() < 0.35 and similar.get(taken[0]):
                    fn = r.choice(similar[taken[0]])
                while fn in taken:
                    fn = ctx.first(names, fem)
                taken.append(fn)
                female.append(fem)
                first.append(fn)
                last.append(surname)
                dob.append(birth)
                home.append(h)
                phone.append(shared_phone)
                email.append(_email(fn, surname, birth.year, r, UK_EMAIL_DOMAINS) if r.random() < 0.6 else None)
                twin.append(len(first) - 1 - m if size > 1 else -1)
        pop = _Pop(female[:n], first[:n], last[:n], dob[:n])
        pop.extra.update(home=home[:n], phone=phone[:n], email=email[:n], twin_of=twin[:n])
        return pop

    pop, person, source = _build(ctx, records, 1.5, population, (0.75, 0.6), 0.06)

    def render(s: int, i: int, r: random.Random) -> dict:
        h: _Home = pop.extra["home"][i]
        ph = pop.extra["phone"][i] if r.random() < 0.85 else None
        return {"first_name": _first_variant(pop.first[i], names, r, 0.04, 0.04),
                "last_name": _noisy(pop.last[i], r, 0.04),
                "dob": _noisy_date(pop.dob[i], "%d/%m/%Y", r, 0.04, 0.05),
                "address": _noisy(_uk_address_text(h.street, r), r, 0.04, 0.03),
                "city": _noisy(h.city, r, 0.02, 0.05), "postcode": _noisy(h.postcode, r, 0.03, 0.04),
                "phone": _noisy(_uk_phone_text(ph, r) if ph else None, r, 0.03, 0.0),
                "email": _maybe(pop.extra["email"][i], r, 0.1)}

    mapping = {"first_name": "first_name", "last_name": "last_name", "date_of_birth": "dob",
               "address_line_1": "address", "city": "city", "postcode": "postcode", "phone": "phone", "email": "email"}
    out = _render(ctx, ("crm", "shop"), person, source, render, ("contact_id", "customer_id"), ("C", "S"),
                  (mapping, mapping))
    return out


def _common_names(ctx: _Ctx, records: int) -> list[_Source]:
    """A third of people have one of the 20 commonest first names (10 per sex) and one of
    the 20 commonest surnames; dob missing 25%, city 20%, email 35%; typos 5%,
    nicknames 5%."""
    g = ctx.g
    names = _names("us")
    towns = _us_towns(2000, US_STATES[:4])

    def population(n: int) -> _Pop:
        r = ctx.r
        pop = _basic_people(ctx, n, "us")
        common = g.random(n) < 1 / 3
        fem = np.array(pop.female)
        top_f, top_m = names.commonest_first(10)
        for i in np.flatnonzero(common).tolist():
            pop.first[i] = str(r.choice(top_f if fem[i] else top_m))
            pop.last[i] = str(names.surnames[r.randrange(20)])
        town, _ = towns.sample(g, n)
        pop.extra["city"] = [towns.names[t] for t in town.tolist()]
        pop.extra["email"] = [_email(pop.first[i], pop.last[i], pop.dob[i].year, r, US_EMAIL_DOMAINS)
                              for i in range(n)]
        pop.extra["common"] = common.tolist()
        return pop

    pop, person, source = _build(ctx, records, 1.5, population, (0.7, 0.6), 0.07)

    def render(s: int, i: int, r: random.Random) -> dict:
        return {"first_name": _first_variant(pop.first[i], names, r, 0.05, 0.05),
                "last_name": _noisy(pop.last[i], r, 0.05),
                "birth_date": _noisy_date(pop.dob[i], "%Y-%m-%d", r, 0.04, 0.25),
                "city": _noisy(pop.extra["city"][i], r, 0.04, 0.20),
                "email": _maybe(email_typo(pop.extra["email"][i], r) if r.random() < 0.03 else pop.extra["email"][i],
                                r, 0.35)}

    mapping = {"first_name": "first_name", "last_name": "last_name", "date_of_birth": "birth_date", "city": "city",
               "email": "email"}
    return _render(ctx, ("members", "orders"), person, source, render, ("member_id", "buyer_id"), ("M", "O"),
                   (mapping, mapping))


def _heavy_typos(ctx: _Ctx, records: int) -> list[_Source]:
    """Every record carries two or three typos (half each) in distinct fields among
    names, dob, address, postcode, email and phone; each field missing 4%."""
    g = ctx.g

    def population(n: int) -> _Pop:
        r = ctx.r
        pop = _basic_people(ctx, n, "uk")
        places, weights, districts = _uk_places()
        c = g.choice(len(places), n, p=weights)
        pop.extra["street"] = [_uk_street(r) for _ in range(n)]
        pop.extra["postcode"] = [_uk_postcode(r.choice(districts[k]), r) for k in c.tolist()]
        pop.extra["email"] = [_email(pop.first[i], pop.last[i], pop.dob[i].year, r, UK_EMAIL_DOMAINS) for i in range(n)]
        pop.extra["phone"] = [_uk_mobile(r) for _ in range(n)]
        return pop

    pop, person, source = _build(ctx, records, 1.55, population, (0.7, 0.6), 0.08)
    fields = ("first_name", "last_name", "dob", "address", "postcode", "email", "phone")

    def render(s: int, i: int, r: random.Random) -> dict:
        row = {"first_name": pop.first[i], "last_name": pop.last[i], "dob": pop.dob[i].strftime("%d/%m/%Y"),
               "address": _uk_address_text(pop.extra["street"][i], r), "postcode": pop.extra["postcode"][i],
               "email": pop.extra["email"][i], "phone": _uk_phone_text(pop.extra["phone"][i], r)}
        for f in fields:
            if r.random() < 0.04:
                row[f] = None
        present = [f for f in fields if row[f]]
        for f in r.sample(present, min(len(present), 2 if r.random() < 0.5 else 3)):
            if f == "email":
                row[f] = email_typo(row[f], r)
            elif f == "dob" and r.random() < 0.5:
                row[f] = date_error(pop.dob[i], r).strftime("%d/%m/%Y")
            else:
                row[f] = typo(row[f], r)
        return row

    mapping = {"first_name": "first_name", "last_name": "last_name", "date_of_birth": "dob",
               "address_line_1": "address", "postcode": "postcode", "email": "email", "phone": "phone"}
    return _render(ctx, ("crm", "shop"), person, source, render, ("contact_id", "customer_id"), ("C", "S"),
                   (mapping, mapping))


# --- historical ---------------------------------------------------------------------------

CENSUS_DAYS = {1841: "1841-06-06", 1851: "1851-03-30", 1861: "1861-04-07", 1871: "1871-04-02",
               1881: "1881-04-03", 1891: "1891-04-05", 1901: "1901-03-31", 1911: "1911-04-02"}
COUNTIES = (("Yorkshire", "Yorks"), ("Lancashire", "Lancs"), ("Kent", "Kent"), ("Devon", "Devon"),
            ("Norfolk", "Norf"), ("Somerset", "Som"), ("Essex", "Essex"), ("Middlesex", "Middx"),
            ("Surrey", "Surrey"), ("Sussex", "Ssx"), ("Cornwall", "Cornw"), ("Durham", "Dur"),
            ("Cheshire", "Ches"), ("Derbyshire", "Derbys"), ("Staffordshire", "Staffs"),
            ("Warwickshire", "Warks"), ("Gloucestershire", "Glos"), ("Lincolnshire", "Lincs"), ("Suffolk", "Suff"),
            ("Hampshire", "Hants"), ("Wiltshire", "Wilts"), ("Dorset", "Dorset"), ("Cumberland", "Cumb"),
            ("Northumberland", "Northumb"), ("Shropshire", "Salop"), ("Nottinghamshire", "Notts"))
_PLACE_STEMS = ("Ash Brad Kings Hather Mel Wal Chip Hal Stan Bur Whit Thorn Brom Ald Elm Hor Fel Ket Sut Wick "
                "Market Long Ox Cam Mar Bil Dun Wes Nor Sou Bax Hen Tad Bee Kir Sel Skel Pad Rother Dew Bing Kel "
                "Sher Hun Mid Stow Lei Wood Sand Stock Mans Rad Ril Til").split()
_PLACE_ENDS = "ton ham by ley worth field bury stow wick thorpe ford bridge well dale mere minster borough chester den hurst cote".split()
OCCUPATIONS_MALE = ((25, "Agricultural Labourer", "Ag Lab"), (12, "Labourer", "Lab"), (8, "Coal Miner", "Miner"),
                    (5, "Farmer", "Farmer"), (5, "Carpenter", "Carp"), (4, "Blacksmith", "Smith"),
                    (4, "Shoemaker", "Shoe Maker"), (4, "Weaver", "Weaver"), (3, "Tailor", "Tailor"),
                    (3, "Mason", "Stone Mason"), (3, "Carter", "Carter"), (3, "Butcher", "Butcher"),
                    (3, "Baker", "Baker"), (2, "Grocer", "Grocer"), (2, "Clerk", "Clerk"), (2, "Railway Porter", "Porter"),
                    (2, "Gardener", "Gardener"), (2, "Bricklayer", "Brick Layer"), (2, "Mariner", "Seaman"),
                    (1, "Publican", "Innkeeper"), (1, "Schoolmaster", "Teacher"), (1, "Wheelwright", "Wheelwright"))
OCCUPATIONS_FEMALE = ((30, "Domestic Servant", "Servant"), (14, "Dressmaker", "Dress Maker"), (10, "Laundress", "Washerwoman"),
                      (8, "Cotton Weaver", "Weaver"), (6, "Charwoman", "Char"), (5, "Milliner", "Milliner"),
                      (5, "Needlewoman", "Seamstress"), (4, "Housekeeper", "Housekeeper"), (3, "Schoolmistress", "Teacher"),
                      (3, "Straw Plaiter", "Plaiter"), (2, "Glover", "Glover"), (2, "Nurse", "Nurse"))


def _historical(ctx: _Ctx, records: int) -> list[_Source]:
    """Census and parish transcriptions of people born 1800-1899 (more later, as the
    population grew): each census 1841-1911 the person lived through finds them with
    85%, transcribed once (60%), twice (30%) or three times; baptism (80%), marriage (70% of those who
    married) and burial (70% of deaths before 1912) from the parish registers. Ages are
    their age on the day (1841 rounds adults down to five years; 10% misstated by one
    or two years); the census dob is the true one (55%), 1 January of census year
    minus age (30%), wrong or missing. Names are transcribed with abbreviations (Wm,
    Jno, Eliz), OCR and phonetic slips; women appear under their married surname after
    marrying; the postcode is the district of the address (LS6: no 19th-century address
    had a full postcode), another when the family moves (25% a decade);
    birthplace (parish, county) and occupation are written several ways."""
    g, r = ctx.g, ctx.r
    names = _names("victorian")
    places, weights, districts = _uk_places()
    place_names = sorted({a + b for a in _PLACE_STEMS for b in _PLACE_ENDS})
    rp = random.Random("places")
    rp.shuffle(place_names)
    place_names = place_names[:900]
    place_county = [COUNTIES[int(k)] for k in np.random.default_rng(7).integers(0, len(COUNTIES), len(place_names))]
    place_w = _zipf(len(place_names), 0.9, 3.0)
    census_dates = {y: dt.date.fromisoformat(d) for y, d in CENSUS_DAYS.items()}

    def age_on(dob: dt.date, day: dt.date) -> int:
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))

    def population(n: int):
        years = 1800 + np.floor(g.beta(1.6, 1.0, n) * 100).astype(int)
        days = g.integers(0, 365, n)
        dobs = [dt.date(int(y), 1, 1) + dt.timedelta(days=int(d)) for y, d in zip(years, days, strict=True)]
        infant = g.random(n) < 0.18
        life = np.where(infant, g.uniform(0, 5, n), np.clip(g.normal(62, 16, n), 5, 101))
        female = g.random(n) < 0.51
        first = names.first(g, female).tolist()
        last = names.last(g, n).tolist()
        middle = [ctx.first(names, f) if r.random() < 0.15 else None for f in female.tolist()]
        married_at = [r.uniform(19, 31) if f and r.random() < 0.75 else None for f in female.tolist()]
        husband = names.last(g, n).tolist()
        birthplace = g.choice(len(place_names), n, p=place_w).tolist()
        home = g.choice(len(places), n, p=weights).tolist()
        occ = [None] * n
        events = []  # per person: list of (source, kind, date, age)
        for i in range(n):
            death = dobs[i] + dt.timedelta(days=int(life[i] * 365.25))
            ev = []
            if r.random() < 0.8:
                ev.append(("parish", "baptism", dobs[i] + dt.timedelta(days=r.randint(3, 90))))
            for y, day in census_dates.items():
                if dobs[i] < day < death and r.random() < 0.85:
                    for _ in range(_weighted(((60, 1), (30, 2), (10, 3)), r)):  # transcribed 1-3 times
                        ev.append(("census", str(y), day))
            if married_at[i] is not None and married_at[i] < life[i] and r.random() < 0.7:
                ev.append(("parish", "marriage", dobs[i] + dt.timedelta(days=int(married_at[i] * 365.25))))
            if death.year < 1912 and r.random() < 0.7:
                ev.append(("parish", "burial", death + dt.timedelta(days=r.randint(2, 8))))
            if not ev:
                ev.append(("parish", "baptism", dobs[i] + dt.timedelta(days=r.randint(3, 90))))
            events.append(ev)
            occ[i] = _weighted([(w, (a, b)) for w, a, b in (OCCUPATIONS_FEMALE if female[i] else OCCUPATIONS_MALE)], r)
        pop = _Pop(female.tolist(), first, last, dobs)
        pop.extra.update(middle=middle, married_at=married_at, husband=husband, birthplace=birthplace, home=home,
                         occupation=occ, events=events)
        # moves: a postcode district per decade of life, changing 25% of the time
        pop.extra["postcodes"] = []
        for i in range(n):
            pcs, c = [], home[i]
            for _ in range(12):
                if r.random() < 0.25:
                    c = ctx.pick(range(len(places)), weights) if r.random() < 0.3 else c
                    pcs.append(r.choice(districts[c]))
                else:
                    pcs.append(pcs[-1] if pcs else r.choice(districts[c]))
            pop.extra["postcodes"].append(pcs)
        return pop

    n = int(records / 5.0) + 10
    while True:
        pop = population(n)
        sizes = np.array([len(e) for e in pop.extra["events"]])
        total = np.cumsum(sizes)
        if total[-1] >= records:
            break
        n = int(n * 1.3) + 10
    last_person = int(np.searchsorted(total, records))
    rows: dict[str, list] = {"census": [], "parish": []}
    who: dict[str, list] = {"census": [], "parish": []}
    left = records
    for i in range(last_person + 1):
        for src, kind, day in pop.extra["events"][i]:
            if left == 0:
                break
            left -= 1
            rows[src].append(_historical_row(pop, i, src, kind, day, age_on(pop.dob[i], day), r, names,
                                             place_names, place_county))
            who[src].append(i)
    out = []
    for src, id_col, prefix in (("census", "entry_id", "CEN"), ("parish", "register_id", "PR")):
        order = g.permutation(len(rows[src]))
        rs = [rows[src][k] for k in order.tolist()]
        columns: dict[str, list] = {id_col: _ids(g, len(rs), 9, prefix)}
        for key in rs[0]:
            columns[key] = [row[key] for row in rs]
        mapping = {"first_name": "forename", "last_name": "surname", "date_of_birth": "birth_date",
                   "gender": "sex", "postcode": "postcode"}
        out.append(_Source(src, id_col, columns, [who[src][k] for k in order.tolist()], mapping,
                           ["birthplace", "occupation"]))
    return out


def _historical_row(pop: _Pop, i: int, src: str, kind: str, day: dt.date, age: int, r: random.Random,
                    names: _Names, place_names: list[str], place_county: list[tuple[str, str]]) -> dict:
    female = pop.female[i]
    first = pop.first[i]
    if pop.extra["middle"][i] and r.random() < 0.4:
        first = f"{first} {pop.extra['middle'][i]}"
    if r.random() < 0.08:
        first = names.nickname(pop.first[i], r) or first
    first = _noisy(first, r, 0.08)
    married_at = pop.extra["married_at"][i]
    last = pop.extra["husband"][i] if (married_at is not None and age >= married_at and kind != "marriage") else pop.last[i]
    last = _noisy(last, r, 0.09)
    if kind == "baptism":
        age = 0
    elif src == "census" and kind == "1841" and age >= 15:
        age = age // 5 * 5
    elif r.random() < 0.10:
        age = max(0, age + r.choice((-2, -1, -1, 1, 1, 2)))
    dob = pop.dob[i]
    roll = r.random()
    if kind == "baptism" or roll < 0.55:
        birth = _noisy_date(dob, "%d/%m/%Y", r, 0.06 if kind != "baptism" else 0.02, 0.02)
    elif roll < 0.85:
        birth = f"01/01/{day.year - age - (1 if (day.month, day.day) < (dob.month, dob.day) and r.random() < 0.5 else 0)}"
        birth = birth if not birth.endswith(("/1900", "/1901", "/1902", "/1903", "/1904", "/1905", "/1906", "/1907",
                                             "/1908", "/1909", "/1910", "/1911", "/1912")) else dob.strftime("%d/%m/%Y")
    elif roll < 0.93:
        birth = _noisy_date(dob, "%d/%m/%Y", r, 1.0, 0.0)
    else:
        birth = None
    if birth and not re.search(r"1[0-8]\d\d$", birth):  # a slip that leaves the 19th century: as written
        birth = dob.strftime("%d/%m/%Y")
    place = place_names[pop.extra["birthplace"][i]]
    county, abbr = place_county[pop.extra["birthplace"][i]]
    birthplace = _weighted(((40, f"{place}, {county}"), (20, place), (15, f"{place}, {abbr}"), (8, county),
                            (7, None), (10, typo(f"{place}, {county}", r))), r)
    occupation = None
    if age >= 14 and kind != "baptism":
        full, short = pop.extra["occupation"][i]
        if female and married_at is not None and age >= married_at:
            occupation = _weighted(((50, None), (25, "Wife"), (10, "Housewife"), (15, full)), r)
        elif age >= 68:
            occupation = _weighted(((40, "Retired " + full), (30, "Annuitant"), (15, "Pauper"), (15, full)), r)
        else:
            occupation = full if r.random() < 0.6 else short
    elif 5 <= age < 14 and src == "census":
        occupation = "Scholar" if r.random() < 0.6 else None
    decade = min(11, max(0, age // 10))
    postcode = pop.extra["postcodes"][i][decade]
    sex = "F" if female else "M"
    if r.random() < 0.005:
        sex = "M" if female else "F"
    return {"event": kind if src == "parish" else "census", "event_year": str(day.year),
            "forename": first, "surname": last, "age": str(age), "birth_date": birth,
            "sex": sex if r.random() > 0.03 else None, "birthplace": birthplace, "occupation": occupation,
            "postcode": _noisy(postcode, r, 0.03, 0.06)}


# --- date conventions ------------------------------------------------------------------------


def _date_conventions(ctx: _Ctx, records: int) -> list[_Source]:
    """Three branches writing dates their own way: dd/mm/yyyy (UK), mm/dd/yyyy (US),
    yyyy-mm-dd (the warehouse). scv has one date order per project (standardise:
    date_order), not per source, so the project maps the columns plainly. Typos 4%, email
    missing 25%, postcode 10%."""
    names = _names("uk")
    places, weights, districts = _uk_places()

    def population(n: int) -> _Pop:
        r = ctx.r
        pop = _basic_people(ctx, n, "uk")
        c = ctx.g.choice(len(places), n, p=weights)
        pop.extra["postcode"] = [_uk_postcode(r.choice(districts[k]), r) for k in c.tolist()]
        pop.extra["email"] = [_email(pop.first[i], pop.last[i], pop.dob[i].year, r, UK_EMAIL_DOMAINS)
                              for i in range(n)]
        return pop

    pop, person, source = _build(ctx, records, 1.6, population, (0.6, 0.5, 0.5), 0.05)
    formats = ("%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d")

    def render(s: int, i: int, r: random.Random) -> dict:
        return {"first_name": _first_variant(pop.first[i], names, r, 0.04, 0.04), "last_name": _noisy(pop.last[i], r, 0.04),
                "date_of_birth": _noisy_date(pop.dob[i], formats[s], r, 0.04, 0.03),
                "email": _maybe(pop.extra["email"][i], r, 0.25), "postcode": _noisy(pop.extra["postcode"][i], r, 0.03, 0.1)}

    mapping = {"first_name": "first_name", "last_name": "last_name", "date_of_birth": "date_of_birth",
               "email": "email", "postcode": "postcode"}
    return _render(ctx, ("uk_branch", "us_branch", "warehouse"), person, source, render,
                   ("customer_ref", "customer_ref", "customer_ref"), ("UK", "US", "W"), (mapping, mapping, mapping))


# --- international ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Country:
    code: str
    names: tuple[str, ...]  # how the country is written
    weight: float
    female: tuple[str, ...]
    male: tuple[str, ...]
    surnames: tuple[str, ...]
    cities: tuple[tuple[str, str], ...]  # (native, English)
    postcode: str  # pattern: 9 a digit, A a letter
    street: str  # template with {n} {s}
    streets: tuple[str, ...]
    phone: tuple[str, int, str]  # country calling code, national digits, trunk prefix
    domains: tuple[str, ...]
    family_first: bool = False


def _c(code, names, weight, female, male, surnames, cities, postcode, street, streets, phone, domains, family_first=False):
    split = str.split
    return _Country(code, tuple(names.split("|")), weight, tuple(split(female)), tuple(split(male)),
                    tuple(surnames.split("|")), tuple(tuple(c.split("/")) for c in cities.split("|")), postcode,
                    street, tuple(streets.split("|")), phone, tuple(split(domains)), family_first)


COUNTRIES = (
    _c("GB", "United Kingdom|UK|GB|England", 12, "Olivia Amelia Emily Sophie Jessica Charlotte Grace Chloe Lucy Ella",
       "Oliver Harry George Jack Charlie Thomas James William Daniel Joshua",
       "Smith|Jones|Taylor|Brown|Williams|Wilson|Johnson|Davies|Robinson|Wright|Evans|Walker|O'Brien|Lloyd-Jones",
       "London/London|Manchester/Manchester|Birmingham/Birmingham|Leeds/Leeds|Bristol/Bristol|Edinburgh/Edinburgh",
       "AA9 9AA", "{n} {s}", "High Street|Station Road|Church Lane|Victoria Road|Mill Lane|Park Avenue",
       ("44", 10, "0"), "gmail.com hotmail.co.uk btinternet.com yahoo.co.uk"),
    _c("US", "United States|USA|US|U.S.A.", 10, "Emma Olivia Ava Sophia Isabella Mia Abigail Emily Madison Harper",
       "Liam Noah William James Logan Benjamin Mason Elijah Oliver Jacob",
       "Smith|Johnson|Williams|Brown|Jones|Garcia|Miller|Davis|Rodriguez|Martinez|O'Connor|Van Buren",
       "New York/New York|Los Angeles/Los Angeles|Chicago/Chicago|Houston/Houston|Boston/Boston|Seattle/Seattle",
       "99999", "{n} {s}", "Main Street|Oak Avenue|Maple Drive|Park Place|Elm Street|Washington Blvd",
       ("1", 10, "1"), "gmail.com yahoo.com aol.com outlook.com"),
    _c("DE", "Germany|Deutschland|DE|GER", 9, "Anna Lena Lea Hannah Sophie Marie Jürgen Käthe Jördis Sören Mia Lina Emilia",
       "Lukas Jonas Leon Finn Paul Maximilian Felix Jürgen Björn Günther",
       "Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schulz|Hoffmann|Schäfer|Köhler|Groß|von Weizsäcker|Müller-Lüdenscheidt",
       "München/Munich|Köln/Cologne|Berlin/Berlin|Hamburg/Hamburg|Nürnberg/Nuremberg|Düsseldorf/Dusseldorf",
       "99999", "{s} {n}", "Hauptstraße|Bahnhofstraße|Gartenstraße|Schulstraße|Dorfstraße|Lindenstraße|Goethestraße",
       ("49", 10, "0"), "web.de gmx.de t-online.de gmail.com"),
    _c("FR", "France|FR|FRA|République française", 8, "Léa Chloé Manon Inès Camille Zoé Anaïs Hélène Émilie Océane",
       "Lucas Hugo Léo Gabriel Raphaël Louis Théo Jérôme François Noël",
       "Martin|Bernard|Dubois|Thomas|Robert|Richard|Petit|Durand|Lefèvre|Moreau|Girard|Rousseau|Le Gall|de la Fontaine",
       "Paris/Paris|Marseille/Marseilles|Lyon/Lyons|Toulouse/Toulouse|Nice/Nice|Bordeaux/Bordeaux",
       "99999", "{n} {s}", "rue de la Paix|avenue Victor Hugo|rue Pasteur|boulevard Voltaire|rue de l'Église|place de la République",
       ("33", 9, "0"), "orange.fr free.fr laposte.net gmail.com"),
    _c("ES", "Spain|España|ES|ESP", 7, "Lucía María Paula Sofía Martina Daniela Carmen Ana Begoña Nuria",
       "Hugo Martín Lucas Mateo Daniel Pablo Álvaro José Jesús Íñigo",
       "García|Fernández|González|Rodríguez|López|Martínez|Sánchez|Pérez|Gómez Ruiz|García Márquez|Muñoz|de la Cruz|Fernández de Córdoba",
       "Madrid/Madrid|Barcelona/Barcelona|Sevilla/Seville|Valencia/Valencia|Zaragoza/Saragossa|A Coruña/La Coruna",
       "99999", "{s}, {n}", "Calle Mayor|Calle de Alcalá|Avenida de la Constitución|Plaza de España|Calle Real",
       ("34", 9, ""), "gmail.com hotmail.es telefonica.net yahoo.es"),
    _c("IT", "Italy|Italia|IT|ITA", 6, "Sofia Giulia Aurora Alice Ginevra Emma Giorgia Beatrice Chiara Francesca",
       "Francesco Alessandro Lorenzo Leonardo Mattia Andrea Gabriele Niccolò Riccardo Tommaso",
       "Rossi|Russo|Ferrari|Esposito|Bianchi|Romano|Colombo|Ricci|Marino|De Luca|Di Stefano|Dell'Acqua",
       "Roma/Rome|Milano/Milan|Napoli/Naples|Torino/Turin|Firenze/Florence|Venezia/Venice",
       "99999", "{s} {n}", "Via Roma|Via Garibaldi|Corso Italia|Via Mazzini|Piazza del Duomo|Via Dante",
       ("39", 10, ""), "libero.it alice.it gmail.com virgilio.it"),
    _c("PL", "Poland|Polska|PL|POL", 5, "Zuzanna Julia Maja Zofia Hanna Łucja Małgorzata Agnieszka Katarzyna Wiktoria",
       "Jakub Antoni Szymon Jan Filip Łukasz Michał Paweł Wojciech Mikołaj",
       "Nowak|Kowalski|Wiśniewski|Wójcik|Kowalczyk|Kamiński|Lewandowski|Zieliński|Szymański|Woźniak|Dąbrowski|Kozłowski",
       "Warszawa/Warsaw|Kraków/Cracow|Łódź/Lodz|Wrocław/Wroclaw|Poznań/Poznan|Gdańsk/Gdansk",
       "99-999", "ul. {s} {n}", "Marszałkowska|Długa|Polna|Leśna|Słoneczna|Krótka|Mickiewicza",
       ("48", 9, ""), "wp.pl onet.pl interia.pl gmail.com o2.pl"),
    _c("NL", "Netherlands|Nederland|NL|Holland", 4, "Emma Julia Mila Tess Sophie Zoë Sara Nora Fenna Anouk",
       "Daan Sem Lucas Levi Finn Milan Luuk Bram Thijs Joris",
       "de Jong|Jansen|de Vries|van den Berg|van Dijk|Bakker|Janssen|Visser|Smit|Meijer|de Boer|van der Meer",
       "Amsterdam/Amsterdam|Rotterdam/Rotterdam|Den Haag/The Hague|Utrecht/Utrecht|Eindhoven/Eindhoven",
       "9999 AA", "{s} {n}", "Kerkstraat|Dorpsstraat|Molenweg|Schoolstraat|Stationsweg|Prinsengracht",
       ("31", 9, "0"), "ziggo.nl kpnmail.nl gmail.com hotmail.nl"),
    _c("SE", "Sweden|Sverige|SE|SWE", 3, "Alice Maja Elsa Astrid Wilma Freja Saga Ebba Linnéa Åsa",
       "William Liam Noah Hugo Lucas Oliver Oscar Elias Björn Sören",
       "Andersson|Johansson|Karlsson|Nilsson|Eriksson|Larsson|Olsson|Persson|Svensson|Gustafsson|Lindström|Åberg",
       "Stockholm/Stockholm|Göteborg/Gothenburg|Malmö/Malmo|Uppsala/Uppsala|Västerås/Vasteras",
       "999 99", "{s} {n}", "Storgatan|Drottninggatan|Kungsgatan|Skolgatan|Järnvägsgatan",
       ("46", 9, "0"), "telia.com gmail.com hotmail.se"),
    _c("RU", "Russia|Russian Federation|RU|RUS", 5, "Anastasia|Anastasiya Yekaterina|Ekaterina Tatiana|Tatyana Natalia|Natalya "
       "Olga Svetlana Yulia|Julia Maria|Mariya Elena|Yelena Irina",
       "Aleksandr|Alexander Dmitri|Dmitry Sergei|Sergey Andrei|Andrey Mikhail|Michael Yevgeny|Evgeny|Evgenii Nikolai|Nikolay "
       "Alexei|Aleksey Ivan Yuri|Yury|Iurii",
       "Ivanov|Smirnov|Kuznetsov~Kouznetsov|Popov|Vasiliev~Vasilyev|Petrov|Sokolov|Mikhailov~Mikhaylov|Fedorov~Fyodorov|Morozov|Volkov",
       "Moskva/Moscow|Sankt-Peterburg/Saint Petersburg|Novosibirsk/Novosibirsk|Yekaterinburg/Ekaterinburg|Kazan/Kazan",
       "999999", "ul. {s}, d. {n}", "Lenina|Pushkina|Gagarina|Sovetskaya|Mira|Tverskaya",
       ("7", 10, "8"), "yandex.ru mail.ru gmail.com rambler.ru"),
    _c("CN", "China|PRC|CN|People's Republic of China", 6, "Wei|Way Fang Na Xiuying Min Jing Li|Lee Yan Ting Xin",
       "Wei|Way Qiang Lei Jun Yong Jie Tao Ming|Ming Chao Hao",
       "Wang~Wong|Li~Lee|Zhang~Chang|Liu~Lau|Chen~Chan|Yang~Yeung|Huang~Wong|Zhao~Chao|Wu~Ng|Zhou~Chow",
       "Beijing/Peking|Shanghai/Shanghai|Guangzhou/Canton|Shenzhen/Shenzhen|Chengdu/Chengdu|Xi'an/Xian",
       "999999", "{s} {n} Hao", "Zhongshan Lu|Renmin Lu|Jiefang Lu|Nanjing Lu|Heping Lu",
       ("86", 11, "0"), "qq.com 163.com 126.com gmail.com", True),
    _c("JP", "Japan|Nippon|JP|JPN", 4, "Yui Aoi Hina Sakura Yuna Rin Mio Yuka|Yuuka Haruka Yoko|Yōko",
       "Haruto Yuto Sota Yuki|Yūki Hayato Ren Takumi Kenji Shota|Shōta Ryota|Ryōta",
       "Satō~Sato~Satou|Suzuki|Takahashi|Tanaka|Watanabe|Itō~Ito~Itou|Yamamoto|Nakamura|Kobayashi|Katō~Kato|Ōno~Ohno~Ono",
       "Tōkyō/Tokyo|Ōsaka/Osaka|Kyōto/Kyoto|Yokohama/Yokohama|Nagoya/Nagoya|Sapporo/Sapporo",
       "999-9999", "{n}-{m} {s}", "Shinjuku|Shibuya|Minato|Chūō|Nakano|Setagaya",
       ("81", 10, "0"), "yahoo.co.jp docomo.ne.jp gmail.com ezweb.ne.jp", True),
    _c("IN", "India|Bharat|IN|IND", 6, "Aadhya Ananya Diya Priya Saanvi Lakshmi Pooja Sunita Kavya Meera",
       "Aarav Vivaan Aditya Arjun Rahul Mohammed|Mohammad|Muhammad Rajesh|Rajeesh Suresh Venkatesh Sanjay",
       "Sharma|Patel|Singh|Kumar|Gupta|Reddy|Iyer|Nair|Chatterjee~Chaterjee~Chattopadhyay|Mukherjee~Mukerji|Banerjee|Rao|Das",
       "Mumbai/Bombay|Delhi/New Delhi|Bengaluru/Bangalore|Chennai/Madras|Kolkata/Calcutta|Hyderabad/Hyderabad",
       "999999", "{n}, {s}", "MG Road|Station Road|Nehru Nagar|Gandhi Marg|Park Street|Anna Salai",
       ("91", 10, "0"), "gmail.com yahoo.co.in rediffmail.com hotmail.com"),
    _c("BR", "Brazil|Brasil|BR|BRA", 5, "Maria Ana Júlia Beatriz Larissa Fernanda Letícia Camila Gabriela Luíza",
       "João José Pedro Lucas Gabriel Matheus Guilherme Gustavo Felipe Antônio",
       "Silva|Santos|Oliveira|Souza~Sousa|Rodrigues|Ferreira|Alves|Pereira|Lima|Gomes|da Costa|dos Santos Silva|Araújo",
       "São Paulo/Sao Paulo|Rio de Janeiro/Rio de Janeiro|Belo Horizonte/Belo Horizonte|Brasília/Brasilia|Salvador/Salvador",
       "99999-999", "{s}, {n}", "Rua das Flores|Avenida Paulista|Rua São João|Rua XV de Novembro|Avenida Brasil",
       ("55", 11, "0"), "gmail.com hotmail.com uol.com.br bol.com.br"),
    _c("TR", "Turkey|Türkiye|TR|TUR", 4, "Zeynep Elif Ayşe Fatma Emine Hatice Merve Esra Özlem Gül",
       "Mehmet Mustafa Ahmet Ali Hüseyin Hasan İbrahim Yusuf Murat Ömer",
       "Yılmaz|Kaya|Demir|Şahin|Çelik|Yıldız|Yıldırım|Öztürk|Aydın|Özdemir|Arslan|Doğan",
       "İstanbul/Istanbul|Ankara/Ankara|İzmir/Izmir|Bursa/Bursa|Antalya/Antalya",
       "99999", "{s} Sok. No:{n}", "Atatürk Cad.|Cumhuriyet|İstiklal Cad.|Gazi|Fatih|Bağdat Cad.",
       ("90", 10, "0"), "gmail.com hotmail.com yandex.com.tr"),
    _c("GR", "Greece|Hellas|GR|GRC", 3, "Maria Eleni Aikaterini|Katerina Vasiliki Sofia Angeliki Georgia Dimitra Konstantina Eirini|Irini",
       "Georgios|Giorgos|George Dimitrios|Dimitris Konstantinos|Kostas Ioannis|Giannis|Yannis Nikolaos|Nikos Panagiotis Christos Vasileios|Vasilis",
       "Papadopoulos|Pappas|Vlachos|Angelopoulos|Nikolaidis|Georgiou|Oikonomou~Economou|Dimitriou|Konstantinidis~Constantinidis",
       "Athína/Athens|Thessaloníki/Thessaloniki|Pátra/Patras|Irákleio/Heraklion|Lárisa/Larissa",
       "999 99", "{s} {n}", "Ermou|Panepistimiou|Stadiou|Akadimias|Vasilissis Sofias",
       ("30", 10, ""), "gmail.com yahoo.gr otenet.gr hotmail.com"),
)


def _variants(token: str) -> list[str]:
    """The ways a name is written: Aleksandr|Alexander (first names), Satō~Sato (surnames)."""
    return re.split(r"[|~]", token)


@functools.cache
def _country_names(k: int) -> _Names:
    """A country's names: its common ones first, then names blended from them (Zipf weights:
    the commonest about 5% of a sex)."""
    c = COUNTRIES[k]
    r = random.Random(f"country-{c.code}")
    real = [list(c.female), list(c.male), list(c.surnames)]
    taken = set().union(*real)
    lists = [names + _invented(r, names, extra, taken) for names, extra in zip(real, (120, 120, 400), strict=True)]
    arrays = [np.array(names, dtype=object) for names in lists]
    return _Names(arrays[0], arrays[1], _zipf(len(lists[0]), 1.0, 5.0), _zipf(len(lists[1]), 1.0, 5.0), arrays[2],
                  _zipf(len(lists[2]), 1.0, 5.0), {})


def _postcode(pattern: str, r: random.Random) -> str:
    return "".join(str(r.randint(0, 9)) if ch == "9" else (r.choice("ABCDEFGHJKLMNPRSTUVWXYZ") if ch == "A" else ch)
                   for ch in pattern)


def _intl_phone(country: _Country, digits: str, r: random.Random, style: str) -> str:
    cc, _, trunk = country.phone
    groups = " ".join(digits[k:k + 3] for k in range(0, len(digits), 3))
    if style == "e164":
        return f"+{cc}{digits}"
    if style == "national":
        return f"{trunk}{groups}" if trunk else groups
    return _weighted(((40, f"+{cc} {groups}"), (20, f"00{cc} {groups}"), (20, f"{trunk}{groups}"),
                      (10, f"+{cc} ({trunk}){groups}" if trunk else f"+{cc} {groups}"), (10, f"+{cc}-{digits}")), r)


def _international(ctx: _Ctx, records: int) -> list[_Source]:
    """People from 16 countries (more from GB, US, DE, FR) in a CRM (native spellings,
    native city names, national phone format), a web shop (accents dropped, English city
    names, +country phones) and support desk (mixed; family name first for Chinese and
    Japanese names 40% of the time, compound surnames cut to their first part 30%).
    Transliterated names vary per record (Aleksandr/Alexander, Sato/Satō); the country
    is written several ways (DE, Germany, Deutschland). Typos 4%; phone missing 20%,
    email 10%."""
    g = ctx.g
    weights = np.array([c.weight for c in COUNTRIES], float)

    def population(n: int) -> _Pop:
        r = ctx.r
        country = g.choice(len(COUNTRIES), n, p=weights / weights.sum()).tolist()
        female, first, last, dob = [], [], [], []
        extra: dict[str, list] = {k: [] for k in ("country", "city", "street", "postcode", "phone", "email")}
        for k in country:
            c = COUNTRIES[k]
            fem = r.random() < 0.51
            v = _country_names(k)
            fn = ctx.pick(v.female, v.female_w) if fem else ctx.pick(v.male, v.male_w)
            ln = ctx.pick(v.surnames, v.surname_w)
            if c.code in ("ES", "BR") and r.random() < 0.4 and " " not in ln:  # two surnames
                ln = f"{ln} {ctx.pick(v.surnames, v.surname_w)}"
            female.append(fem)
            first.append(fn)
            last.append(ln)
            dob.append(None)
            city = r.randrange(len(c.cities))
            extra["country"].append(k)
            extra["city"].append(city)
            extra["street"].append((r.choice(c.streets), r.randint(1, 220), r.randint(1, 30)))
            extra["postcode"].append(_postcode(c.postcode, r))
            extra["phone"].append(str(r.randint(10 ** (c.phone[1] - 1), 10 ** c.phone[1] - 1)))
            plain_f = _ascii(_variants(fn)[0]).lower().replace(" ", "").replace("'", "")
            base = _variants(ln)[0]
            plain_l = _ascii(base.split()[0] if " " in base and r.random() < 0.5 else base).lower()
            plain_l = re.sub(r"[^a-z]", "", plain_l)
            local = _weighted(((4, f'{plain_f}.{plain_l}'), (2, f'{plain_f}{plain_l}'),
                               (2, f'{plain_f[0]}{plain_l}{r.randint(1, 99)}'), (1, f'{plain_l}.{plain_f}')), r)
            extra["email"].append(_issue(local, r.choice(c.domains), r))
        pop = _Pop(female, first, last, dob)
        pop.extra.update(extra)
        return pop

    pop, person, source = _build(ctx, records, 1.6, population, (0.7, 0.55, 0.35), 0.05)

    def render(s: int, i: int, r: random.Random) -> dict:
        c = COUNTRIES[pop.extra["country"][i]]
        first = r.choice(_variants(pop.first[i]))
        last = r.choice(_variants(pop.last[i]))
        native_city, english_city = c.cities[pop.extra["city"][i]]
        if s == 1 or (s == 2 and r.random() < 0.5):  # a system without accents
            first, last = (_ascii(first), _ascii(last)) if r.random() < 0.85 else (first.translate(_GERMAN), last.translate(_GERMAN))
        if s == 2 and " " in last and r.random() < 0.3:  # compound surname cut short
            parts = last.split()
            last = parts[-1] if parts[0].lower() in ("de", "van", "von", "da", "dos", "di", "del", "de la", "le") else parts[0]
        if s == 2 and c.family_first and r.random() < 0.4:
            first, last = last, first
        city = native_city if s == 0 else english_city if s == 1 else r.choice((native_city, english_city, _ascii(native_city)))
        street, n, m = pop.extra["street"][i]
        address = c.street.format(n=n, s=street, m=m)
        if s == 1:
            address = _ascii(address)
        postcode = pop.extra["postcode"][i]
        if c.code in ("NL", "SE", "GR") and r.random() < 0.4:
            postcode = postcode.replace(" ", "")
        if c.code == "US" and r.random() < 0.2:
            postcode += f"-{r.randint(0, 9999):04d}"
        phone = _intl_phone(c, pop.extra["phone"][i], r, ("national", "e164", "mixed")[s])
        return {"given_name": _noisy(first, r, 0.04), "family_name": _noisy(last, r, 0.04),
                "street": _noisy(address, r, 0.04, 0.03), "city": _noisy(city, r, 0.02, 0.03),
                "postal_code": _noisy(postcode, r, 0.03, 0.05), "country": r.choice(c.names),
                "email": _maybe(email_typo(pop.extra["email"][i], r) if r.random() < 0.03 else pop.extra["email"][i], r, 0.1),
                "phone": _noisy(phone, r, 0.03, 0.2)}

    mapping = {"first_name": "given_name", "last_name": "family_name", "address_line_1": "street", "city": "city",
               "postcode": "postal_code", "country": "country", "email": "email", "phone": "phone"}
    return _render(ctx, ("crm", "webshop", "support"), person, source, render, ("id", "id", "id"), ("C", "W", "S"),
                   (mapping, mapping, mapping))


# --- census + social security + payroll --------------------------------------------------------

FAKE_NAMES = ("Baby", "Unknown", "Mister", "Infant", "Not Given", "Child", "Anonymous")


def _census_ssn(ctx: _Ctx, records: int) -> list[_Source]:
    """US households (as in _household_people, 1-6 people sharing an address and mostly a
    surname) in three sources, noisy as public-use simulated census data is:
    census: each person once (6% counted twice, some at another address), no ssn;
    social security: 92% of people, 1-3 records (name changes), an address that may be
    a previous one (30%), ssn with wrong digits 2%;
    payroll: working-age people with 1-3 employers, ssn missing 8%, wrong 3%, a
    housemate's 1%; dob month and day swapped 2%, wrong digits 2%, a housemate's 1%;
    nicknames 5% (census), typos 3%, OCR and phonetic slips, fake names (Baby, Unknown)
    0.3%, middle initial missing 25%, zip digits wrong 2%. At most 8 records a person.
    A third of households live in apartment buildings of 8-300 flats (the flat number left
    off 40% of the time); a quarter of 18-22 year olds and a fifth of the over-80s are
    counted by the census in a dorm or care home of 50-400 residents."""
    g = ctx.g
    names = _names("us")
    towns = _us_towns(2500, US_STATES)

    def population(n: int) -> _Pop:
        r = ctx.r
        female, first, last, dob, extra = [], [], [], [], {k: [] for k in ("middle", "ssn", "home", "old_home",
                                                                            "household", "quarters")}
        ssns: set[int] = set()
        buildings: dict[int, list[list]] = {}  # town -> [street, zip, units let, units]
        quarters: dict[int, list[list]] = {}  # town -> [street, zip, residents, capacity]

        def shared_address(pool: dict[int, list[list]], new_share: float, capacity: Callable[[], int]) -> list:
            t, z = ctx.town(towns)
            free = [b for b in pool.get(t, []) if b[2] < b[3]]
            if not free or r.random() < new_share:
                free = [[_us_street(r), z, 0, capacity()]]
                pool.setdefault(t, []).append(free[0])
            b = r.choice(free)
            b[2] += 1
            return [b, t]

        hh = 0
        while len(first) < n:
            size = r.choices(range(1, 7), (28, 35, 15, 14, 6, 2))[0]
            surname = ctx.last(names)
            if r.random() < 0.35:  # a flat in an apartment building of 8 to 300 units
                b, t = shared_address(buildings, 0.15, lambda: min(300, int(8 * r.paretovariate(1.1))))
                home = (b[0], f"{b[2] // 12 + 1}{'ABCDEFGHJKLM'[b[2] % 12]}" if r.random() < 0.5 else str(b[2]), t, b[1])
            else:
                t, z = ctx.town(towns)
                home = (_us_street(r), None, t, z)
            parent_age = (18 + r.betavariate(1.4, 1.9) * 72) * 0.7 + 12
            adults = 1 if size == 1 else (2 if r.random() < 0.85 else 1)
            for m in range(size):
                adult = m < adults
                fem = (m == 1) if adults == 2 and m < 2 else r.random() < 0.51
                age = parent_age + r.uniform(-4, 4) if adult else max(0.3, parent_age - r.uniform(18, 40))
                female.append(fem)
                first.append(ctx.first(names, fem))
                last.append(surname if (m != 1 or r.random() > 0.2 or not adult) else ctx.last(names))
                dob.append(_dob_at_age(age, r))
                extra["middle"].append(ctx.first(names, fem) if r.random() < 0.75 else None)
                while (ssn := r.randint(1_01_0001, 899_99_9999)) in ssns or str(ssn).startswith("666"):
                    pass
                ssns.add(ssn)
                extra["ssn"].append(f"{ssn:09d}")
                extra["home"].append(home)
                t2, z2 = ctx.town(towns)
                extra["old_home"].append((_us_street(r), None, t2, z2))
                extra["household"].append(hh)
                in_quarters = (18 <= age < 23 and r.random() < 0.25) or (age >= 80 and r.random() < 0.2)
                extra["quarters"].append(tuple(shared_address(quarters, 0.1, lambda: r.randint(50, 400))[0][:2])
                                         if in_quarters else None)
            hh += 1
        pop = _Pop(female[:n], first[:n], last[:n], dob[:n])
        pop.extra.update({k: v[:n] for k, v in extra.items()})
        members: dict[int, list[int]] = {}
        for i, h in enumerate(pop.extra["household"]):
            members.setdefault(h, []).append(i)
        pop.extra["housemates"] = [[j for j in members[h] if j != i] for i, h in enumerate(pop.extra["household"])]
        return pop

    # Records per person: census 1 (+6% dup), ssa 0-3, payroll 0-3 (+3% dup); capped at 8.
    def spread(pop: _Pop) -> tuple[np.ndarray, np.ndarray] | None:
        n = len(pop.first)
        r = ctx.r
        person, source = [], []
        total = 0
        for i in range(n):
            age = (dt.date(2025, 6, 30) - pop.dob[i]).days / 365.25
            recs = [0] * (1 + (r.random() < 0.06))
            if r.random() < 0.92:
                recs += [1] * _weighted(((75, 1), (20, 2), (5, 3)), r)
            if 18 <= age <= 70 and r.random() < 0.65:
                recs += [2] * (_weighted(((70, 1), (22, 2), (8, 3)), r) + (r.random() < 0.03))
            recs = recs[:8]
            person += [i] * len(recs)
            source += recs
            total += len(recs)
            if total >= records:
                return np.array(person[:records]), np.array(source[:records])
        return None

    n = int(records / 2.2) + 10
    while True:
        pop = population(n)
        spread_ = spread(pop)
        if spread_ is not None:
            person, source = spread_
            break
        n = int(n * 1.3) + 10

    date_fmt = ("%Y-%m-%d", "%Y%m%d", "%Y-%m-%d")

    def render(s: int, i: int, r: random.Random) -> dict:
        mates = pop.extra["housemates"][i]
        first = pop.first[i]
        if s == 0 and r.random() < 0.05:
            first = names.nickname(first, r) or first
        if r.random() < 0.003:
            first = r.choice(FAKE_NAMES)
        first = _noisy(first, r, 0.03, 0.005)
        middle = pop.extra["middle"][i]
        middle = (middle[0] if s != 1 else middle) if middle and r.random() > 0.25 else None
        last = pop.last[i]
        if s == 1 and pop.female[i] and r.random() < 0.15:
            last = ctx.last(names)  # a name before marriage, as social security still holds it
        last = _noisy(last, r, 0.03, 0.005)
        d = pop.dob[i]
        if mates and r.random() < 0.01:
            d = pop.dob[r.choice(mates)]
        dob = _noisy_date(d, date_fmt[s], r, 0.04, 0.02)
        home = pop.extra["home"][i]
        if (s == 0 and r.random() < 0.04) or (s == 1 and r.random() < 0.3) or (s == 2 and r.random() < 0.1):
            home = pop.extra["old_home"][i]
        street, unit, town, z = home
        if s == 0 and pop.extra["quarters"][i]:  # counted where they live: a dorm or care home
            street, z = pop.extra["quarters"][i]
            unit, town = None, next(t for t, b in enumerate(towns.zips) if z in b)
        if unit and r.random() < 0.4:  # the flat number left off
            unit = None
        row = {"first_name": first, "middle_initial" if s != 1 else "middle_name": middle, "last_name": last,
               "dob": dob, "street_address": _noisy(_us_address_text(street, unit, r), r, 0.03, 0.02),
               "city": _noisy(towns.names[town], r, 0.02, 0.02), "state": towns.state[town],
               "zipcode": _noisy(z, r, 0.02, 0.02)}
        if s == 1:
            ssn = pop.extra["ssn"][i]
            row["ssn"] = typo(ssn, r) if r.random() < 0.02 else ssn
        elif s == 2:
            ssn = pop.extra["ssn"][i]
            if mates and r.random() < 0.01:
                ssn = pop.extra["ssn"][r.choice(mates)]
            elif r.random() < 0.03:
                ssn = typo(ssn, r)
            row["ssn"] = None if r.random() < 0.08 else (f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}" if r.random() < 0.5 else ssn)
        return row

    base = {"first_name": "first_name", "last_name": "last_name", "date_of_birth": "dob",
            "address_line_1": "street_address", "city": "city", "region": "state", "postcode": "zipcode"}
    mappings = ({**base, "middle_name": "middle_initial"}, {**base, "middle_name": "middle_name"},
                {**base, "middle_name": "middle_initial"})
    return _render(ctx, ("census", "social_security", "payroll"), person, source, render,
                   ("census_id", "ssa_record", "w2_id"), ("", "S", "W"), mappings, ([], ["ssn"], ["ssn"]))


def _few_fields(ctx: _Ctx, records: int) -> list[_Source]:
    """First name, last name and city only (US): typos 6%, nicknames 5%, a move to
    another town 5%, city missing 5%."""
    names = _names("us")
    towns = _us_towns(2000, US_STATES[:3])

    def population(n: int) -> _Pop:
        pop = _basic_people(ctx, n, "us")
        town, _ = towns.sample(ctx.g, n)
        pop.extra["town"] = town.tolist()
        return pop

    pop, person, source = _build(ctx, records, 1.5, population, (0.7, 0.6), 0.08)

    def render(s: int, i: int, r: random.Random) -> dict:
        t = pop.extra["town"][i]
        if r.random() < 0.05:
            t = ctx.town(towns)[0]
        city = towns.variant(t, r) if r.random() < 0.05 else towns.names[t]
        style = "upper" if s == 1 else "as is"
        return {"first": _case(_first_variant(pop.first[i], names, r, 0.06, 0.05), style),
                "last": _case(_noisy(pop.last[i], r, 0.06), style), "city": _case(_noisy(city, r, 0.04, 0.05), style)}

    mapping = {"first_name": "first", "last_name": "last", "city": "city"}
    return _render(ctx, ("accounts", "mailing"), person, source, render, ("account_id", "mail_id"), ("A", "M"),
                   (mapping, mapping))


_BUILDERS: dict[str, Callable[[_Ctx, int], list[_Source]]] = {
    "voter_lists": _voter_lists,
    "voter_field_typos": _voter_field_typos,
    "voter_field_typos_heavy": _voter_field_typos_heavy,
    "voter_typos": _voter_typos,
    "voter_typos_heavy": _voter_typos_heavy,
    "voter_lists_heavy": _voter_lists_heavy,
    "names_dob": _names_dob,
    "names_email": _names_email,
    "households": _households,
    "twins": _twins,
    "common_names": _common_names,
    "heavy_typos": _heavy_typos,
    "historical": _historical,
    "date_conventions": _date_conventions,
    "international": _international,
    "census_ssn": _census_ssn,
    "few_fields": _few_fields,
    "many_parties": _many_parties,
}
assert set(_BUILDERS) | {"big"} == set(SHAPES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", choices=sorted(SHAPES))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--records", type=int, default=25_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    import time
    started = time.perf_counter()
    config, truth = make(args.shape, args.folder, args.records, args.seed)
    print(f"{args.shape}: {config} {truth} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
