"""Demo customer data from three systems, with the ground truth of who is who.

Linkage can only be judged, tuned and demonstrated on data whose answer is known, and
real customer data can't be shared. So this module invents a UK population and
writes it out the way a CRM, a web shop and a newsletter tool would each hold it:
different columns, formats and ids, and the everyday mess (typos, nicknames, moves,
marriages, missing fields, shared family inboxes) that makes matching hard.

Everything is vectorised (numpy for the numbers, pyarrow compute for the strings,
names as codes into small vocabularies) so that millions of records take seconds,
and everything is drawn from one seeded generator (and children spawned from it in a
fixed order) so a seed always gives byte-identical files.
"""

from __future__ import annotations

import functools
import json
import posixpath
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

__all__ = ["GeneratedData", "generate", "demo_project_yaml"]

# --------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------

CRM_FILE = "crm_contacts.csv"
SHOP_FILE = "shop_customers.parquet"
NEWSLETTER_FILE = "newsletter_signups.jsonl"
ORDERS_FILE = "shop_orders.csv"
TRUTH_FILE = "truth.csv"
SOURCES = ("crm", "shop", "newsletter")

# --------------------------------------------------------------------------------------
# Who is where
# --------------------------------------------------------------------------------------

SOURCE_SHARE = {"crm": 0.70, "shop": 0.50, "newsletter": 0.35}  # of people, after "everyone somewhere"
DUPLICATE_RATE = {"crm": 0.06, "shop": 0.04, "newsletter": 0.03}  # of a source's people: a 2nd record
MAX_RECORDS_PER_PERSON = 4
RECORDS_PER_PERSON = 1.625  # customer records per person, on average

# --------------------------------------------------------------------------------------
# The population
# --------------------------------------------------------------------------------------

FEMALE_SHARE = 0.51
MIN_AGE, MAX_AGE = 18, 90
AGE_BETA = (1.3, 1.8)  # shape of ages between MIN_AGE and MAX_AGE: most in their 30s to 60s
NAME_SKEW = (1.0, 10.0)  # Zipf exponent and rank offset over the name lists: top names ~3%
STREET_SKEW = (0.6, 2.0)  # street names: flatter
MIDDLE_NAME_SHARE = 0.35
FLAT_SHARE = 0.08  # addresses that are a flat ("Flat 3, 12 Church Road")
HOUSE_NUMBER_GAMMA = (1.3, 30.0)  # low house numbers are the common ones
MAX_HOUSE_NUMBER, MAX_FLAT_NUMBER = 400, 40
HOUSEHOLD_SHARE = 0.03  # people sharing an email or phone with a housemate (same surname)
HOUSEHOLD_SHARED_EMAIL_RATE = 0.5  # of those pairs: a family inbox, else a shared landline
MOVED_RATE = 0.10  # people with an old and a new address
MARRIED_RATE = 0.05  # women with a maiden and a married surname
MARRIED_NEW_EMAIL_RATE = 0.5  # of married women: a new email from the new surname
EMAIL_NICKNAME_RATE = 0.15  # people whose email uses their nickname (bob.smith@)
ANOTHER_POST_EVENT_RECORD_RATE = 0.3  # after a move/marriage, other records also updated
DO_NOT_EMAIL_RATE = 0.12  # CRM donotemail
NEWSLETTER_CONSENT_RATE = 0.9

# --------------------------------------------------------------------------------------
# Noise, per record (or per field of a record)
# --------------------------------------------------------------------------------------

NAME_TYPO_RATE = 0.035  # per name field: substitution, deletion, transposition, doubling
TYPO_VARIANTS_PER_NAME = 6  # distinct misspellings made for each name in the lists
NICKNAME_RATE = 0.10  # of first names that have a nickname: Robert -> Bob
NAME_SWAP_RATE = 0.015  # first and last name in each other's field
NAME_UPPER_RATE = 0.04  # whole record typed in CAPITALS
NAME_LOWER_RATE = 0.03  # ... or in lower case
WHITESPACE_RATE = 0.02  # per text field: leading, trailing or doubled spaces
MIDDLE_NAME_SHOWN = (0.65, 0.15)  # CRM: middle name given in full, as an initial (else empty)
EMAIL_UPPER_RATE = 0.02
EMAIL_MIXED_CASE_RATE = 0.03
EMAIL_DOMAIN_TYPO_RATE = 0.005  # gmial.com
GMAIL_PLUS_TAG_RATE = {"crm": 0.02, "shop": 0.15, "newsletter": 0.12}  # name+shop@gmail.com
PLUS_TAG = {"crm": "crm", "shop": "shop", "newsletter": "news"}
PHONE_TYPO_RATE = 0.01  # last digit wrong
STREET_ABBREVIATION_RATE = {"crm": 0.20, "shop": 0.35}  # Road -> Rd
ADDRESS_UPPER_RATE = 0.03
POSTCODE_NO_SPACE_RATE = 0.06
POSTCODE_LOWER_RATE = 0.03
DOB_TRANSPOSE_RATE = 0.015  # day and month swapped (only where that is still a date)
MISSING_RATE = {  # empty values, by source and column (CRM middle names: MIDDLE_NAME_SHOWN)
    "crm": {
        "emailaddress1": 0.12,
        "mobilephone": 0.15,
        "birthdate": 0.12,
        "gendercode": 0.15,
        "address1_line1": 0.07,
        "address1_city": 0.08,
        "address1_postalcode": 0.07,
        "address1_country": 0.10,
    },
    "shop": {
        "email": 0.02,
        "phone": 0.12,
        "date_of_birth": 0.20,
        "street": 0.05,
        "town": 0.08,
        "post_code": 0.05,
    },
    "newsletter": {"name": 0.05},
}

# Phone layouts by source: (weight, template) over the parts {a} {b} {c} of 07700 900 123.
PHONE_FORMATS = {
    "crm": ((30, "+44 {a} {b}{c}"), (25, "0{a} {b}{c}"), (15, "0{a}{b}{c}"), (10, "(0{a}) {b} {c}"),
            (8, "0044 {a} {b}{c}"), (7, "+44{a}{b}{c}"), (5, "0{a}-{b}-{c}")),
    "shop": ((45, "0{a}{b}{c}"), (25, "0{a} {b}{c}"), (15, "+44{a}{b}{c}"), (8, "0{a} {b} {c}"),
             (4, "+44 ({a}) {b} {c}"), (3, "0{a}-{b}{c}")),
}
COUNTRY_FORMATS = ((75, "United Kingdom"), (12, "UK"), (6, "GB"), (4, "England"), (3, "Great Britain"))
# Newsletter "name": (weight, template); {title} is Mr/Mrs/Ms/Miss/Dr.
FULL_NAME_FORMATS = ((74, "{first} {last}"), (8, "{LAST}, {first}"), (10, "{title} {first} {last}"),
                     (5, "{first} {middle_initial}{last}"), (2, "{first}"))
FLAT_FORMATS = ((70, "Flat {flat}, {line}"), (20, "Flat {flat} {line}"), (10, "{flat}/{line}"))
EMAIL_PATTERNS = ((34, "{f}.{l}"), (12, "{f}{l}"), (8, "{i}.{l}"), (6, "{f}_{l}"), (10, "{f}.{l}{nn}"),
                  (8, "{f}{l}{yyyy}"), (7, "{i}{l}{nn}"), (5, "{l}.{f}"), (5, "{f}{nnn}"), (5, "{f}.{l}{yy}"))
EMAIL_PROVIDERS = ((28, "gmail.com"), (12, "hotmail.co.uk"), (10, "outlook.com"), (8, "yahoo.co.uk"),
                   (6, "btinternet.com"), (6, "hotmail.com"), (6, "icloud.com"), (4, "live.co.uk"),
                   (4, "sky.com"), (3, "virginmedia.com"), (3, "googlemail.com"), (2, "aol.com"),
                   (2, "talktalk.net"), (2, "yahoo.com"), (2, "me.com"), (1, "protonmail.com"),
                   (1, "ntlworld.com"))
EMAIL_DOMAIN_TYPOS = {"gmail.com": "gmial.com", "hotmail.co.uk": "hotmial.co.uk", "outlook.com": "outlok.com",
                      "yahoo.co.uk": "yaho.co.uk", "btinternet.com": "btinternet.co.uk",
                      "hotmail.com": "hotmail.con", "icloud.com": "icoud.com"}
PLUS_TAG_DOMAINS = ("gmail.com", "googlemail.com")

# --------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------

REFERENCE_DATE = "2025-06-30"  # "today" for ages and the newest timestamp (never the real today)
SOURCE_START = {"crm": "2012-01-01", "shop": "2016-03-01", "newsletter": "2017-05-01"}
EVENT_WINDOW = ("2019-01-01", "2025-03-31")  # when moves and marriages happen
NEVER_UPDATED_RATE = 0.3  # records whose updated time equals their created time
ORDERS_PER_CUSTOMER_WEIGHTS = (24, 20, 15, 12, 9, 7, 5, 4, 4)  # P(0 .. 8 orders)
ORDER_AMOUNT_LOGNORMAL = (3.6, 0.7)  # mean and sigma of log(pounds): median about 37
SHOP_FIRST_CUSTOMER_ID = 100_001
FIRST_ORDER_ID = 500_001

# --------------------------------------------------------------------------------------
# Name, street and place lists (roughly by frequency: the Zipf weights follow the order)
# --------------------------------------------------------------------------------------

FEMALE_FIRST_NAMES = """
Sarah Emma Claire Laura Rebecca Elizabeth Katherine Susan Margaret Jennifer Helen Nicola Lisa Karen Julie
Emily Jessica Sophie Charlotte Hannah Lucy Amy Gemma Joanne Michelle Rachel Victoria Samantha Louise Kelly
Patricia Deborah Amanda Alison Jacqueline Tracey Angela Caroline Catherine Jane Anne Janet Christine Carol
Linda Barbara Pauline Valerie Sandra Sheila Jean Joan Dorothy Brenda Maureen Irene Gillian Wendy Lynn Dawn
Kirsty Zoe Natalie Stephanie Kimberley Danielle Jade Chloe Megan Olivia Amelia Isla Ava Mia Grace Lily Ella
Freya Poppy Evie Isabella Holly Abigail Alice Eleanor Georgia Lauren Bethany Jasmine Leah Naomi Ruth Anna
Hazel Fiona Heather Shirley Rosemary Marion Elaine Diane Denise Beverley Lesley Sally Frances Teresa
Josephine Alexandra Vanessa Melanie Kerry Leanne Hayley Sharon Tina Donna Jill Judith Eileen Kathleen
Sylvia Joyce Yvonne Marie Siobhan Aisha Fatima Priya Zara Amira Ayesha Nadia Mariam Anita Sunita Agnieszka
Katarzyna Joanna Rosie Phoebe Matilda Florence Imogen Harriet Millie Scarlett Ruby Daisy Maisie Erin
Caitlin Niamh Eilidh Morag Rhiannon Ffion Cerys Sian Carys Catriona Kathryn Rebekah Madeleine Natasha Tanya
Sonia Carla Paula Lorraine Hilary Audrey Vera Gladys Iris Elsie Ivy Mabel Nora Rita Alexis Bridget Maria
""".split()

MALE_FIRST_NAMES = """
David John James Michael Robert Paul Mark Andrew Richard Peter Stephen Christopher Daniel Thomas William
Matthew Anthony Steven Kevin Gary Ian Alan Simon Jason Darren Lee Craig Neil Stuart Graham Martin Philip
Jonathan Timothy Nicholas Benjamin Samuel Joseph Edward George Charles Henry Oliver Jack Harry Jacob Noah
Oscar Leo Archie Arthur Theo Luke Adam Ryan Jamie Liam Connor Callum Kieran Joshua Nathan Aaron Lewis
Scott Dean Wayne Shaun Carl Keith Kenneth Brian Colin Derek Trevor Roger Barry Terence Raymond Frank Dennis
Malcolm Norman Douglas Gordon Bernard Geoffrey Leslie Roy Ronald Donald Harold Albert Ernest Walter
Frederick Patrick Sean Declan Ciaran Owen Rhys Gareth Dylan Evan Huw Dafydd Hamish Angus Alistair Fraser
Euan Ross Gregor Mohammed Muhammad Ali Ahmed Omar Hassan Imran Rajesh Sanjay Arjun Piotr Tomasz Marek
Alexander Max Toby Ethan Mason Logan Tyler Dominic Sebastian Hugo Rory Finley Elliot Reece Jordan Bradley
Mitchell Russell Vincent Victor Gerald Howard Lawrence Clive Nigel Adrian Julian Rupert Giles Francis
Jeremy Gavin Duncan Glen Stanley Leonard Sidney Cyril Grant Marcus Joel Isaac Harvey Kyle Jake Louis
""".split()

NICKNAMES = {  # name: its nicknames, from "Name: Nick Nick | Name: Nick | ..."
    name.strip(): tuple(nicks.split())
    for name, nicks in (item.split(":") for item in """
Robert: Bob Rob Bobby Robbie | William: Bill Will Billy | Elizabeth: Liz Beth Lizzie Betty
Katherine: Kate Kathy Katie Kat | Catherine: Cathy Kate Cath Katie | Kathryn: Kate Kathy
Margaret: Maggie Peggy Meg | James: Jim Jimmy | John: Jack Johnny | Michael: Mike Mick Mikey
Richard: Rich Rick Dick | Thomas: Tom Tommy | Christopher: Chris | Daniel: Dan Danny | Matthew: Matt
Andrew: Andy Drew | Anthony: Tony Ant | Stephen: Steve | Steven: Steve | Nicholas: Nick Nicky
Benjamin: Ben | Samuel: Sam Sammy | Joseph: Joe Joey | Edward: Ed Eddie Ted | Charles: Charlie Chas
Henry: Harry Hal | Jonathan: Jon Johnny | Timothy: Tim | Philip: Phil | Peter: Pete | David: Dave Davy
Alexander: Alex Sandy | Jennifer: Jen Jenny | Rebecca: Becky Becca | Samantha: Sam Sammy
Victoria: Vicky Tori | Alexandra: Alex Lexi | Jessica: Jess Jessie | Susan: Sue Susie
Patricia: Pat Trish | Deborah: Debbie Deb | Nicola: Nicky | Stephanie: Steph | Jacqueline: Jackie
Christine: Chris Chrissie | Josephine: Jo Josie | Joanne: Jo | Kimberley: Kim | Abigail: Abbie Abby
Eleanor: Ellie Nell | Gillian: Gill Jill | Frederick: Fred Freddie | Kenneth: Ken Kenny | Raymond: Ray
Gerald: Gerry | Lawrence: Larry Laurie | Leonard: Len Lenny | Terence: Terry | Ronald: Ron Ronnie
Donald: Don Donny | Albert: Bert Albie | Douglas: Doug Dougie | Geoffrey: Geoff | Patrick: Pat Paddy
Oliver: Ollie | Sebastian: Seb | Dominic: Dom | Isabella: Bella Izzy | Natasha: Tash Tasha
Amanda: Mandy | Dorothy: Dot Dottie | Florence: Flo | Matilda: Tilly | Harriet: Hattie | Rosemary: Rosie
Frances: Fran | Theresa: Tess | Teresa: Tess | Caroline: Caz | Valerie: Val | Pauline: Pauly
Gregor: Greg | Stanley: Stan | Sidney: Sid | Bernard: Bernie | Zachary: Zach | Francis: Frank
Mohammed: Mo | Muhammad: Mo | Natalie: Nat | Danielle: Dani | Alistair: Ali | Joshua: Josh
Nathan: Nate | Jacob: Jake | Maureen: Mo | Angela: Angie | Barbara: Babs | Suzanne: Suzy
Madeleine: Maddie
""".strip().replace("\n", " | ").split(" | "))
}

SURNAMES = """
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson Thompson Wright Walker
White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner Martin Cooper Hill Ward Morris
Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips Watson Davis Parker Price Bennett Young
Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan
Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali
Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker Fisher
Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart
Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer Gill
Dawson Ball Burton O'Brien Watts Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson
Newman Barrett Webster Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland
Hawkins Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane Cooke
Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman Warren Nicholls
Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Harper Coleman Watkins Moss
McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace George
Jordan Hutchinson Rowe Burke May Pritchard Gilbert Willis Higgins Read Miles Stevenson Stephenson Hammond
Arnold Buckley Walters Hewitt Barber Nelson Slater Austin Sullivan Whitehead Mann Frost Lambert Stephens
Blake Akhtar Lynch Goodwin Barton Woodward Thomson Cunningham Quinn Barnett Baxter Bibi Clayton Nash
Greenwood Jennings Holt Kemp Poole Gallagher Bond Stokes Tucker Davidson Fowler Heath Norman Middleton
Lawson Banks French Stanley Jarvis Gibbs Ferguson Hayward Carroll Farrell Hale Macdonald MacLeod Fraser
Sinclair Chen Wang Nowak Kowalski Lloyd-Jones Hughes-Davies Smith-Williams Fitzgerald McKenzie Mahmood
Iqbal Rahman Chowdhury Sharma Gupta Kumar Nguyen Okafor Adeyemi Mensah Osei Costa Silva Rossi Murray-Hill
""".split()

STREET_NAMES = """
High|Church|Station|Main|Park|Victoria|Green|Manor|Kings|Queens|New|School|Mill|Chapel|Albert|North|South
West|London|York|Windsor|Grange|Springfield|Highfield|Orchard|Meadow|Beech|Oak|Elm|Ash|Willow|Cedar|Maple
Birch|Chestnut|Holly|Hawthorn|Rose|Primrose|Lime|Sycamore|Poplar|Laurel|Forest|Woodland|Brook|River|Bridge
Castle|Abbey|Priory|Market|Farm|Hill|Valley|Sandy|Stone|Cliff|Lake|Moor|Heath|Common|Broad|Long|Back|Spring
Well|Fountain|Marlborough|Stanley|Cromwell|Nelson|Wellington|Trafalgar|Waterloo|Clarence|Alexandra
Gladstone|Salisbury|Grosvenor|Devonshire|Cavendish|Portland|Richmond|Cambridge|Oxford|Bath|Bristol|Chester
Lancaster|Warwick|Stafford|Derby|Hampton|Ashford|Belmont|Fairview|Southfield|Westfield|Northfield
Eastfield|Mount Pleasant|St John's|St Mary's|King Edward|Queen Elizabeth|Coronation|Jubilee|Princes
Regent|Hamilton|Beaconsfield|Tennyson|Milton|Shakespeare|Byron|Kingsley|Lindsay|Ferndale|Glebe|Rectory
Vicarage|Old Mill|Old Hall|Hall|Meadowbank|Riverside|Lakeside|Hillside|Woodside|Parkside|Brookfield
Oakfield|Ashfield|Greenfield|Redhill|Blackthorn|Bramble|Heather|Lavender|Clover|Bluebell|Foxglove|Kestrel
Falcon|Heron|Swallow|Robin|Wren|Kingfisher|Albany|Beaumont|Carlton|Denmark|Edinburgh|Essex|Kent|Norfolk
Suffolk|Surrey|Sussex|Devon|Cornwall|Somerset|Dorset|Stratford|Canal|Harbour|Quay|Dock|Ferry|Wharf
""".replace("\n", "|").strip("|").split("|")

STREET_TYPES = ((30, "Road", "Rd"), (20, "Street", "St"), (10, "Avenue", "Ave"), (10, "Lane", "Ln"),
                (8, "Close", "Cl"), (7, "Drive", "Dr"), (4, "Way", "Way"), (4, "Crescent", "Cres"),
                (3, "Gardens", "Gdns"), (3, "Grove", "Gr"), (3, "Place", "Pl"), (3, "Terrace", "Terr"),
                (2, "Court", "Ct"), (1, "Walk", "Wlk"), (1, "Mews", "Mews"), (1, "Square", "Sq"))

# City, weight, postcode districts ("AREA lo-hi", several for big cities).
CITIES = """
London|16|E 1-18,N 1-22,NW 1-11,SE 1-28,SW 1-20,W 1-14
Birmingham|4|B 1-76
Manchester|3|M 1-46
Leeds|3|LS 1-29
Glasgow|3|G 1-84
Liverpool|2.5|L 1-40
Sheffield|2|S 1-36
Bristol|2|BS 1-41
Edinburgh|2|EH 1-55
Cardiff|1.8|CF 3-24
Leicester|1.5|LE 1-19
Nottingham|1.5|NG 1-25
Newcastle upon Tyne|1.5|NE 1-15
Bradford|1.3|BD 1-22
Belfast|1.3|BT 1-17
Coventry|1.2|CV 1-8
Southampton|1|SO 14-19
Portsmouth|1|PO 1-9
Brighton|1|BN 1-3
Plymouth|1|PL 1-9
Reading|1|RG 1-6
Derby|1|DE 1-24
Stoke-on-Trent|1|ST 1-10
Wolverhampton|1|WV 1-14
Hull|1|HU 1-17
Aberdeen|0.9|AB 10-25
Swansea|0.9|SA 1-9
Milton Keynes|0.9|MK 1-19
Northampton|0.8|NN 1-7
Norwich|0.8|NR 1-14
Sunderland|0.8|SR 1-7
Luton|0.7|LU 1-4
Oxford|0.7|OX 1-4
Cambridge|0.7|CB 1-5
York|0.7|YO 1-32
Peterborough|0.6|PE 1-7
Exeter|0.6|EX 1-6
Dundee|0.6|DD 1-5
Middlesbrough|0.6|TS 1-9
Bolton|0.6|BL 1-7
Preston|0.6|PR 1-5
Bath|0.5|BA 1-2
Blackpool|0.5|FY 1-4
Ipswich|0.5|IP 1-5
Gloucester|0.5|GL 1-4
Warrington|0.5|WA 1-5
Huddersfield|0.5|HD 1-9
Wakefield|0.5|WF 1-4
Doncaster|0.5|DN 1-12
Southend-on-Sea|0.5|SS 0-9
Swindon|0.5|SN 1-5
Bournemouth|0.5|BH 1-11
Cheltenham|0.4|GL 50-53
Worcester|0.4|WR 1-5
Lincoln|0.4|LN 1-6
Chester|0.4|CH 1-4
Colchester|0.4|CO 1-7
Chelmsford|0.4|CM 1-3
Watford|0.4|WD 17-25
Slough|0.4|SL 1-3
Newport|0.4|NP 10-20
Canterbury|0.3|CT 1-4
Maidstone|0.3|ME 14-17
Guildford|0.3|GU 1-5
Carlisle|0.3|CA 1-3
Inverness|0.3|IV 1-3
Crawley|0.3|RH 10-11
Basingstoke|0.3|RG 21-24
Stirling|0.2|FK 7-9
Perth|0.2|PH 1-2
Wrexham|0.2|LL 11-14
Londonderry|0.2|BT 47-48
Harrogate|0.2|HG 1-3
Salisbury|0.2|SP 1-2
"""

MOBILE_PREFIXES = ("71", "73", "74", "75", "77", "78", "79")  # 07xx, less the pager and special ranges
POSTCODE_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters Royal Mail uses after the space
# Landlines for shared household phones: (weight, area code without the 0, digits after it).
LANDLINE_AREAS = ((30, "20", 8), (8, "121", 7), (7, "161", 7), (6, "113", 7), (5, "117", 7), (5, "141", 7),
                  (5, "131", 7), (5, "151", 7), (4, "114", 7), (4, "115", 7), (4, "116", 7), (3, "118", 7),
                  (4, "1223", 6), (3, "1865", 6), (3, "1904", 6), (2, "1632", 6))
TITLES = {"male": ((95, "Mr"), (5, "Dr")), "female": ((45, "Mrs"), (30, "Ms"), (20, "Miss"), (5, "Dr"))}
KEYBOARD_NEIGHBOURS = {
    "q": "wa", "w": "qes", "e": "wrd", "r": "etf", "t": "ryg", "y": "tuh", "u": "yij", "i": "uok", "o": "ipl",
    "p": "ol", "a": "qsz", "s": "adw", "d": "sfe", "f": "dgr", "g": "fht", "h": "gjy", "j": "hku", "k": "jli",
    "l": "ko", "z": "xa", "x": "zcs", "c": "xvd", "v": "cbf", "b": "vng", "n": "bmh", "m": "nj",
}
SECONDS_PER_DAY = 86_400


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GeneratedData:
    out_dir: Path
    people: int
    records_per_source: dict[str, int]  # {"crm": n, "shop": n, "newsletter": n}
    orders: int
    truth_path: Path  # out_dir / "truth.csv"
    seconds: float


def generate(out_dir: str | Path, people: int = 10_000, seed: int = 42) -> GeneratedData:
    """Write the three customer sources, the shop's orders and truth.csv into out_dir."""
    if people < 1:
        raise ValueError(f"people must be at least 1, got {people}")
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    vocab = _Vocabulary(rng)
    pop = _population(rng, people, vocab)
    records = _assign_records(rng, pop)

    # The sources are independent from here on: each gets its own generator, so they can
    # be built and written side by side (arrow and numpy release the GIL) and still be
    # the same for a seed.
    crm_rng, shop_rng, newsletter_rng = rng.spawn(3)
    with ThreadPoolExecutor(max_workers=3) as pool:
        crm = pool.submit(_write_crm, crm_rng, pop, vocab, records["crm"], out)
        shop = pool.submit(_write_shop_and_orders, shop_rng, pop, vocab, records["shop"], out)
        newsletter = pool.submit(_write_newsletter, newsletter_rng, pop, vocab, records["newsletter"], out)
        crm_truth, (shop_truth, orders), newsletter_truth = crm.result(), shop.result(), newsletter.result()
    pcsv.write_csv(pa.concat_tables([crm_truth, shop_truth, newsletter_truth]), out / TRUTH_FILE)

    return GeneratedData(
        out_dir=out,
        people=people,
        records_per_source={
            "crm": crm_truth.num_rows,
            "shop": shop_truth.num_rows,
            "newsletter": newsletter_truth.num_rows,
        },
        orders=orders,
        truth_path=out / TRUTH_FILE,
        seconds=time.perf_counter() - started,
    )


def demo_project_yaml(data_dir: str = "data", lakehouse: str = "lakehouse") -> str:
    """The scv.yaml text (with helpful comments) that maps the generated files."""
    def path(name: str) -> str:
        return _yaml_str(posixpath.join(data_dir, name))

    relative = not lakehouse.startswith(("/", "./", "../", "~")) and lakehouse != "."
    lake = f"./{lakehouse}" if relative else lakehouse
    return f"""\
# scv project: the demo data from `scv.generate` -- the same customers as three systems
# hold them. Paths are relative to this file. Each source maps its own columns onto
# scv's canonical fields (canonical field: source column); anything else you want to
# keep goes under `attributes`.
lakehouse: {_yaml_str(lake)}   # Delta tables (bronze, silver, gold) are written here
engine: duckdb

sources:
  # A Dynamics 365-style contact export.
  crm:
    path: {path(CRM_FILE)}
    id: contactid              # the record's key in its own system
    updated_at: modifiedon     # recency: newer values win in the golden record
    columns:
      first_name: firstname
      middle_name: middlename
      last_name: lastname
      email: emailaddress1
      phone: mobilephone
      date_of_birth: birthdate # yyyy-mm-dd
      gender: gendercode       # 1 = male, 2 = female
      address_line_1: address1_line1
      city: address1_city
      postcode: address1_postalcode
      country: address1_country
      created_at: createdon
    attributes: [donotemail]   # carried through to the golden record, not used to match
    # Checks beyond the built-in ones (id present and unique, email, date of birth, phone,
    # names), in Great Expectations' vocabulary; severity error | warn | quarantine:
    # validation:
    #   expectations:
    #     - type: expect_column_values_to_be_in_set
    #       kwargs: {{column: gendercode, value_set: [1, 2]}}
    #       severity: warn
    #   defaults: {{phone_parseable: false}}

  # Web-shop customer accounts.
  shop:
    path: {path(SHOP_FILE)}
    id: customer_id
    updated_at: updated_at
    columns:
      first_name: first_name
      last_name: last_name
      email: email
      phone: phone
      date_of_birth: date_of_birth   # dd/mm/yyyy (day first), text
      address_line_1: street
      city: town
      postcode: post_code
      created_at: created_at

  # Newsletter sign-ups: one full name ("Mr John Smith", "SMITH, John") and an email.
  newsletter:
    path: {path(NEWSLETTER_FILE)}
    id: signup_id
    updated_at: signed_up_at
    columns:
      email: email
      full_name: name
      created_at: signed_up_at
    attributes: [consent]

  # The shop's orders: events of the shop's customer records, not customer records. Each
  # counts for the customer its shop account belongs to, in gold/customer_metrics (orders,
  # spend, recency and an RFM segment).
  orders:
    kind: events
    path: {path(ORDERS_FILE)}
    id: order_id
    record_of: shop            # the customer source whose records the orders belong to
    record_id: customer_id     # the column holding that source's record id
    at: ordered_at             # when the event happened
    amount: amount             # optional: what it was worth

linkage:
  threshold: auto  # or a match probability: auto picks the best expected F1 from the scores

# Golden records: each field survives by a rule (defaults in the README); flags and views.
# golden:
#   rules:
#     phone: {{source_priority: [crm, shop]}}
#     consent: list_distinct
#   suppressed_when: "donotemail"     # such a record's email is chosen last
#   flags:
#     marketable: "email is not null and not donotemail"
#   views:
#     newsletter:                     # gold/customers_newsletter
#       filter: "source = 'newsletter'"
"""


# --------------------------------------------------------------------------------------
# Vocabulary: the lists as arrow strings, with misspellings and nicknames alongside
# --------------------------------------------------------------------------------------


class _NameForms:
    """A name list laid out as one string vocabulary: each name, its misspellings, its nicknames.

    A record's name is then a code into the vocabulary, so choosing "Bob" or "Robetr"
    for a Robert is integer arithmetic and one `take`, not string work per record.
    """

    def __init__(
        self, names: Sequence[str], rng: np.random.Generator, nicknames: Mapping[str, Sequence[str]]
    ):
        strings: list[str] = []
        base, nick_count = [], []
        for name in names:
            nicks = tuple(nicknames.get(name, ()))
            base.append(len(strings))
            nick_count.append(len(nicks))
            strings.append(name)
            strings.extend(_misspellings(name, rng, TYPO_VARIANTS_PER_NAME))
            strings.extend(nicks)
        self.base = np.array(base, dtype=np.int64)
        self.nick_count = np.array(nick_count, dtype=np.int64)
        self.text = pa.array(strings, pa.string())
        self.email_text = pa.array([re.sub(r"[^a-z]", "", s.lower()) for s in strings], pa.string())

    def canonical(self, idx: np.ndarray) -> np.ndarray:
        return self.base[idx]

    def nickname(self, rng: np.random.Generator, idx: np.ndarray, rate: float) -> np.ndarray:
        """Codes for the names, a nickname instead at `rate` where the name has one."""
        code = self.base[idx].copy()
        nick = (self.nick_count[idx] > 0) & (rng.random(len(idx)) < rate)
        which = (rng.random(int(nick.sum())) * self.nick_count[idx[nick]]).astype(np.int64)
        code[nick] += 1 + TYPO_VARIANTS_PER_NAME + which
        return code

    def noisy(
        self, rng: np.random.Generator, idx: np.ndarray, typo_rate: float, nick_rate: float = 0.0
    ) -> np.ndarray:
        """Codes with nicknames and misspellings mixed in at the given rates."""
        code = self.nickname(rng, idx, nick_rate)
        typo = (code == self.base[idx]) & (rng.random(len(idx)) < typo_rate)
        code[typo] += 1 + rng.integers(0, TYPO_VARIANTS_PER_NAME, int(typo.sum()))
        return code


def _misspellings(name: str, rng: np.random.Generator, count: int) -> list[str]:
    """`count` plausible typing errors of a name (the first letter is kept, as people do)."""
    variants: list[str] = []
    for _ in range(count * 10):
        if len(variants) == count:
            break
        chars = list(name)
        i = int(rng.integers(1, len(chars)))
        op = int(rng.integers(0, 4))
        if op == 0 and chars[i].lower() in KEYBOARD_NEIGHBOURS:  # hit a neighbouring key
            near = KEYBOARD_NEIGHBOURS[chars[i].lower()]
            c = near[int(rng.integers(0, len(near)))]
            chars[i] = c.upper() if chars[i].isupper() else c
        elif op == 1 and len(chars) > 3:  # dropped a letter
            del chars[i]
        elif op == 2 and i < len(chars) - 1:  # swapped two letters
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        else:  # doubled a letter
            chars.insert(i, chars[i])
        variant = "".join(chars)
        if variant != name and variant not in variants:
            variants.append(variant)
    filler = variants[0] if variants else name + name[-1]  # very short names: repeat rather than fail
    return variants + [filler] * (count - len(variants))


class _Vocabulary:
    """The module's lists, ready for vectorised use: arrow strings and numpy weights."""

    def __init__(self, rng: np.random.Generator):
        self.n_female = len(FEMALE_FIRST_NAMES)
        self.first = _NameForms(FEMALE_FIRST_NAMES + MALE_FIRST_NAMES, rng, NICKNAMES)
        self.first_weights = (
            _zipf(len(FEMALE_FIRST_NAMES), *NAME_SKEW),
            _zipf(len(MALE_FIRST_NAMES), *NAME_SKEW),
        )
        self.surname = _NameForms(SURNAMES, rng, {})
        self.surname_weights = _zipf(len(SURNAMES), *NAME_SKEW)
        self.streets = pa.array(STREET_NAMES, pa.string())
        self.street_weights = _zipf(len(STREET_NAMES), *STREET_SKEW)
        self.street_type_full = pa.array([t[1] for t in STREET_TYPES], pa.string())
        self.street_type_short = pa.array([t[2] for t in STREET_TYPES], pa.string())
        self.street_type_weights = _weights(STREET_TYPES)

        city_names, city_weights, district_city, areas, lo, hi = [], [], [], [], [], []
        for line in CITIES.strip().splitlines():
            name, weight, specs = line.split("|")
            for spec in specs.split(","):
                area, span = spec.split()
                a, b = span.split("-")
                district_city.append(len(city_names))
                areas.append(area)
                lo.append(int(a))
                hi.append(int(b))
            city_names.append(name)
            city_weights.append(float(weight))
        self.cities = pa.array(city_names, pa.string())
        self.city_weights = np.array(city_weights) / sum(city_weights)
        district_city_arr = np.array(district_city)
        self.city_first_district = np.searchsorted(district_city_arr, np.arange(len(city_names)))
        self.city_district_count = np.bincount(district_city_arr, minlength=len(city_names))
        self.district_area = pa.array(areas, pa.string())
        self.district_lo = np.array(lo)
        self.district_hi = np.array(hi)

        domains = [d for _, d in EMAIL_PROVIDERS]
        self.domain_weights = _weights(EMAIL_PROVIDERS)
        self.domains = pa.array(domains + [EMAIL_DOMAIN_TYPOS.get(d, d) for d in domains], pa.string())
        self.n_domains = len(domains)
        self.plus_tag_domain = np.isin(np.arange(len(domains)), [domains.index(d) for d in PLUS_TAG_DOMAINS])


# --------------------------------------------------------------------------------------
# The population: one row per real person
# --------------------------------------------------------------------------------------


@dataclass
class _Population:
    n: int
    female: np.ndarray
    first: np.ndarray  # index into FEMALE + MALE first names
    middle: np.ndarray  # same, -1 for none
    surname: np.ndarray  # index into SURNAMES
    married_surname: np.ndarray  # -1 unless married
    dob: np.ndarray  # datetime64[D]
    addr_pre: np.ndarray  # index into addresses
    addr_post: np.ndarray  # the new address after a move (== addr_pre if none)
    email_pre: np.ndarray  # index into emails
    email_post: np.ndarray  # after marriage (== email_pre if unchanged)
    phone: np.ndarray  # index into phones
    event_at: np.ndarray  # epoch seconds of the move/marriage, 0 for none
    addresses: dict[str, object]
    emails: dict[str, object]  # local (pa string), domain (np int)
    phones: dict[str, pa.Array]  # a, b, c parts of "07700 900 123"


def _population(rng: np.random.Generator, n: int, vocab: _Vocabulary) -> _Population:
    female = rng.random(n) < FEMALE_SHARE
    first = _first_names(rng, female, vocab)
    middle = np.where(rng.random(n) < MIDDLE_NAME_SHARE, _first_names(rng, female, vocab), -1)
    surname = rng.choice(len(SURNAMES), n, p=vocab.surname_weights)
    age_days = (MIN_AGE + (MAX_AGE + 1 - MIN_AGE) * rng.beta(*AGE_BETA, n)) * 365.2425
    dob = np.datetime64(REFERENCE_DATE, "D") - age_days.astype(np.int64)

    # Housemates: the second of each pair takes the first's surname and address, and
    # shares either the email or a landline. Kept out of moves and marriages for clarity.
    pairs = int(n * HOUSEHOLD_SHARE / 2)
    chosen = rng.permutation(n)[: 2 * pairs]
    head, mate = chosen[:pairs], chosen[pairs:]
    surname[mate] = surname[head]
    clash = mate[first[mate] == first[head]]  # housemates need different first names
    block_start = np.where(female[clash], 0, vocab.n_female)
    block_size = np.where(female[clash], vocab.n_female, len(MALE_FIRST_NAMES))
    first[clash] = block_start + (first[clash] - block_start + 1) % block_size
    in_household = np.zeros(n, dtype=bool)
    in_household[chosen] = True
    share_email = rng.random(pairs) < HOUSEHOLD_SHARED_EMAIL_RATE

    event_lo, event_hi = (_epoch(d) for d in EVENT_WINDOW)
    moved = ~in_household & (rng.random(n) < MOVED_RATE)
    married = ~in_household & female & (dob < np.datetime64(REFERENCE_DATE, "D") - 20 * 365) & (
        rng.random(n) < MARRIED_RATE
    )
    has_event = moved | married
    event_at = np.where(has_event, rng.integers(event_lo, event_hi, n), 0)
    married_surname = np.where(married, rng.choice(len(SURNAMES), n, p=vocab.surname_weights), -1)
    clash = married & (married_surname == surname)
    married_surname[clash] = (married_surname[clash] + 1) % len(SURNAMES)

    addr_pre = np.arange(n)
    addr_pre[mate] = addr_pre[head]
    addr_post = addr_pre.copy()
    addr_post[moved] = n + np.arange(int(moved.sum()))
    addresses = _addresses(rng, n + int(moved.sum()), vocab)

    new_email = married & (rng.random(n) < MARRIED_NEW_EMAIL_RATE)
    email_people = np.concatenate([np.arange(n), np.flatnonzero(new_email)])
    email_surnames = np.concatenate([surname, married_surname[new_email]])
    emails = _emails_for(rng, email_people, first, email_surnames, dob, vocab)
    email_pre = np.arange(n)
    email_pre[mate[share_email]] = email_pre[head[share_email]]
    email_post = email_pre.copy()
    email_post[new_email] = n + np.arange(int(new_email.sum()))

    shared_phone = ~share_email
    phones = _phones_for(rng, n, int(shared_phone.sum()))
    phone = np.arange(n)
    landline = n + np.arange(int(shared_phone.sum()))
    phone[head[shared_phone]] = landline
    phone[mate[shared_phone]] = landline

    return _Population(
        n=n, female=female, first=first, middle=middle, surname=surname, married_surname=married_surname,
        dob=dob, addr_pre=addr_pre, addr_post=addr_post, email_pre=email_pre, email_post=email_post,
        phone=phone, event_at=event_at, addresses=addresses, emails=emails, phones=phones,
    )


def _first_names(rng: np.random.Generator, female: np.ndarray, vocab: _Vocabulary) -> np.ndarray:
    n = len(female)
    women = rng.choice(vocab.n_female, n, p=vocab.first_weights[0])
    men = vocab.n_female + rng.choice(len(MALE_FIRST_NAMES), n, p=vocab.first_weights[1])
    return np.where(female, women, men)


def _addresses(rng: np.random.Generator, n: int, vocab: _Vocabulary) -> dict[str, object]:
    city = rng.choice(len(vocab.city_weights), n, p=vocab.city_weights)
    which = (rng.random(n) * vocab.city_district_count[city]).astype(np.int64)
    district = vocab.city_first_district[city] + which
    lo, hi = vocab.district_lo[district], vocab.district_hi[district]
    district_no = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    inward = np.empty((n, 3), dtype=np.uint8)
    inward[:, 0] = ord("0") + rng.integers(0, 10, n)
    letters = np.frombuffer(POSTCODE_INWARD_LETTERS.encode(), dtype=np.uint8)
    inward[:, 1:] = letters[rng.integers(0, len(letters), (n, 2))]
    postcode = _join(
        vocab.district_area.take(district),
        _int_str(district_no),
        " ",
        pa.array(inward.view("S3").ravel()).cast(pa.string()),
    )
    flat = np.where(rng.random(n) < FLAT_SHARE, rng.integers(1, MAX_FLAT_NUMBER + 1, n), 0)
    return {
        "house": _int_str(np.minimum(1 + rng.gamma(*HOUSE_NUMBER_GAMMA, n).astype(int), MAX_HOUSE_NUMBER)),
        "flat": flat,
        "street": vocab.streets.take(rng.choice(len(STREET_NAMES), n, p=vocab.street_weights)),
        "street_type": rng.choice(len(STREET_TYPES), n, p=vocab.street_type_weights),
        "city": city,
        "postcode": postcode,
    }


def _emails_for(
    rng: np.random.Generator,
    people: np.ndarray,
    first: np.ndarray,
    surname: np.ndarray,
    dob: np.ndarray,
    vocab: _Vocabulary,
) -> dict[str, object]:
    """Email local parts and domains, unique (as a provider would insist) per address."""
    m = len(people)
    first_code = vocab.first.nickname(rng, first[people], EMAIL_NICKNAME_RATE)
    f = vocab.first.email_text.take(first_code)
    year = dob[people].astype("datetime64[Y]").astype(np.int64) + 1970
    fields = {
        "f": f,
        "l": vocab.surname.email_text.take(vocab.surname.canonical(surname)),
        "i": pc.utf8_slice_codeunits(f, 0, 1),
        "yyyy": _int_str(year),
        "yy": _int_str(year % 100, 2),
        "nn": _int_str(rng.integers(1, 100, m)),
        "nnn": _int_str(rng.integers(1, 1000, m)),
    }
    local = _by_template(rng, EMAIL_PATTERNS, fields, m)
    domain = rng.choice(vocab.n_domains, m, p=vocab.domain_weights)
    return {"local": _unique_locals(rng, local, vocab.domains.take(domain)), "domain": domain}


def _unique_locals(rng: np.random.Generator, local: pa.Array, domain: pa.Array) -> pa.Array:
    """Local parts made unique per domain the way people do it: a number on the end."""
    email = _join(local, "@", domain)
    clash = _repeat_occurrence(email)
    while clash.any():
        rows = np.flatnonzero(clash)
        taken = pa.array(rows)
        new_local = _join(local.take(taken), _int_str(rng.integers(2, 1000, len(rows))))
        new_email = _join(new_local, "@", domain.take(taken))
        local, email = _patch(local, (rows, new_local)), _patch(email, (rows, new_email))
        # A new address may be someone else's already, or another new one.
        holders = pc.is_in(email, value_set=new_email).to_numpy(zero_copy_only=False)
        holders[rows] = False
        used = pc.is_in(new_email, value_set=email.filter(pa.array(holders))).to_numpy(zero_copy_only=False)
        clash = np.zeros(len(email), dtype=bool)
        clash[rows[used | _repeat_occurrence(new_email)]] = True
    return local


def _phones_for(rng: np.random.Generator, n_mobiles: int, n_landlines: int) -> dict[str, pa.Array]:
    """Distinct UK mobiles (07xxx xxx xxx), then landlines, as three digit groups."""
    drawn = rng.choice(len(MOBILE_PREFIXES) * 10**8, n_mobiles, replace=False)  # distinct numbers
    prefix = pa.array(MOBILE_PREFIXES, pa.string()).take(drawn // 10**8)
    mobile = drawn % 10**8
    a = _join(prefix, _int_str(mobile // 1_000_000, 2))
    b = _int_str(mobile // 1_000 % 1_000, 3)
    c = _int_str(mobile % 1_000, 3)
    area = rng.choice(len(LANDLINE_AREAS), n_landlines, p=_weights(LANDLINE_AREAS))
    digits = np.array([d for _, _, d in LANDLINE_AREAS])[area]
    local = rng.integers(2 * 10**7, 10**8, n_landlines) // 10 ** (8 - digits)  # never starting 0 or 1
    split = 10 ** (digits - (digits // 2))
    la = pa.array([code for _, code, _ in LANDLINE_AREAS], pa.string()).take(area)
    lb = _int_str(local // split)
    lc = pc.utf8_slice_codeunits(_int_str(split + local % split), 1)  # zero-padded: "1" + digits, less the 1
    return {"a": _concat([a, la]), "b": _concat([b, lb]), "c": _concat([c, lc])}


# --------------------------------------------------------------------------------------
# Records: which people each source holds, and when each record was made and changed
# --------------------------------------------------------------------------------------


@dataclass
class _Records:
    pid: np.ndarray  # person per record
    post: np.ndarray  # record made/updated after the person's move or marriage


def _assign_records(rng: np.random.Generator, pop: _Population) -> dict[str, _Records]:
    n = pop.n
    target = np.array([SOURCE_SHARE[s] for s in SOURCES])
    p = target.copy()
    for _ in range(100):  # inclusion chances that land on SOURCE_SHARE after the top-up below
        p = target / (1 + np.prod(1 - p) / p.sum())
    member = rng.random((len(SOURCES), n)) < p[:, None]
    nowhere = np.flatnonzero(~member.any(axis=0))
    member[rng.choice(len(SOURCES), len(nowhere), p=p / p.sum()), nowhere] = True
    dup = member & (rng.random((len(SOURCES), n)) < np.array([DUPLICATE_RATE[s] for s in SOURCES])[:, None])
    for k in reversed(range(len(SOURCES))):  # keep everyone within MAX_RECORDS_PER_PERSON
        dup[k] &= member.sum(axis=0) + dup.sum(axis=0) <= MAX_RECORDS_PER_PERSON
    parts = [[np.flatnonzero(member[k]), np.flatnonzero(dup[k])] for k in range(len(SOURCES))]

    # After a move or marriage one record, picked at random, carries the news; others may too.
    # Each part holds a person at most once, so counting a person's records is a fancy add.
    has_event = pop.event_at > 0
    news = (rng.random(n) * (member.sum(axis=0) + dup.sum(axis=0))).astype(np.int64)
    seen = np.zeros(n, dtype=np.int64)
    records = {}
    for source, source_parts in zip(SOURCES, parts):
        posts = []
        for pid in source_parts:
            ordinal = seen[pid]
            seen[pid] += 1
            also = rng.random(len(pid)) < ANOTHER_POST_EVENT_RECORD_RATE
            posts.append(has_event[pid] & ((ordinal == news[pid]) | also))
        records[source] = _Records(np.concatenate(source_parts), np.concatenate(posts))
    return records


def _record_times(
    rng: np.random.Generator, pop: _Population, rec: _Records, source: str, created_after_event: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Created and updated epoch seconds: records before a life event end before it, after it end after."""
    n = len(rec.pid)
    start, end = _epoch(SOURCE_START[source]), _epoch(REFERENCE_DATE) + SECONDS_PER_DAY - 1
    event = pop.event_at[rec.pid]
    pre = (event > 0) & ~rec.post
    hi = np.where(pre, event - SECONDS_PER_DAY, end)
    lo = np.where(created_after_event & rec.post, event, start)
    created = lo + (rng.random(n) * (hi - lo)).astype(np.int64)
    update_from = np.where(rec.post, np.maximum(created, event), created)
    updated = update_from + (rng.random(n) * (hi - update_from)).astype(np.int64)
    untouched = ~rec.post & (rng.random(n) < NEVER_UPDATED_RATE)
    updated[untouched] = created[untouched]
    return created, updated


def _sort_by(rec: _Records, *columns: np.ndarray) -> tuple[_Records, list[np.ndarray]]:
    order = np.argsort(columns[0], kind="stable")
    return _Records(rec.pid[order], rec.post[order]), [c[order] for c in columns]


# --------------------------------------------------------------------------------------
# Source tables
# --------------------------------------------------------------------------------------


def _write_crm(
    rng: np.random.Generator, pop: _Population, vocab: _Vocabulary, rec: _Records, out: Path
) -> pa.Table:
    """Write the CRM file; return its truth rows."""
    table, pid = _crm_table(rng, pop, vocab, rec)
    pcsv.write_csv(table, out / CRM_FILE)
    return _truth("crm", table["contactid"], pid)


def _write_shop_and_orders(
    rng: np.random.Generator, pop: _Population, vocab: _Vocabulary, rec: _Records, out: Path
) -> tuple[pa.Table, int]:
    """Write the shop's customers and their orders; return the truth rows and the order count."""
    table, pid = _shop_table(rng, pop, vocab, rec)
    pq.write_table(table, out / SHOP_FILE)
    orders = _orders_table(rng, table)
    pcsv.write_csv(orders, out / ORDERS_FILE)
    return _truth("shop", pc.cast(table["customer_id"], pa.string()), pid), orders.num_rows


def _write_newsletter(
    rng: np.random.Generator, pop: _Population, vocab: _Vocabulary, rec: _Records, out: Path
) -> pa.Table:
    """Write the newsletter file; return its truth rows."""
    table, pid = _newsletter_table(rng, pop, vocab, rec)
    _write_jsonl(table, out / NEWSLETTER_FILE)
    return _truth("newsletter", table["signup_id"], pid)


def _crm_table(
    rng: np.random.Generator, pop: _Population, vocab: _Vocabulary, rec: _Records
) -> tuple[pa.Table, np.ndarray]:
    created, updated = _record_times(rng, pop, rec, "crm")
    rec, (created, updated) = _sort_by(rec, created, updated)
    n = len(rec.pid)
    first, middle, last = _person_names(rng, pop, vocab, rec, with_middle=True)
    female = pop.female[rec.pid]
    line, city, postcode = _address_fields(rng, pop, vocab, rec, STREET_ABBREVIATION_RATE["crm"])
    columns = {
        "contactid": _guids(rng, n),
        "firstname": first,
        "middlename": middle,
        "lastname": last,
        "emailaddress1": _email_strings(rng, pop, vocab, rec, "crm"),
        "mobilephone": _phone_strings(rng, pop, rec, "crm"),
        "birthdate": _dob_strings(rng, pop.dob[rec.pid], day_first=False),
        "gendercode": pa.array(np.where(female, "2", "1"), pa.string()),
        "address1_line1": line,
        "address1_city": city,
        "address1_postalcode": postcode,
        "address1_country": _by_template(rng, COUNTRY_FORMATS, {}, n),
        "donotemail": pa.array(rng.random(n) < DO_NOT_EMAIL_RATE),
        "createdon": _iso(created),
        "modifiedon": _iso(updated),
    }
    return _with_missing(rng, columns, "crm"), rec.pid


def _shop_table(
    rng: np.random.Generator, pop: _Population, vocab: _Vocabulary, rec: _Records
) -> tuple[pa.Table, np.ndarray]:
    created, updated = _record_times(rng, pop, rec, "shop")
    rec, (created, updated) = _sort_by(rec, created, updated)  # ids are handed out in sign-up order
    n = len(rec.pid)
    first, _, last = _person_names(rng, pop, vocab, rec, with_middle=False)
    street, town, post_code = _address_fields(rng, pop, vocab, rec, STREET_ABBREVIATION_RATE["shop"])
    columns = {
        "customer_id": pa.array(SHOP_FIRST_CUSTOMER_ID + np.arange(n, dtype=np.int64)),
        "first_name": first,
        "last_name": last,
        "email": _email_strings(rng, pop, vocab, rec, "shop"),
        "phone": _phone_strings(rng, pop, rec, "shop"),
        "date_of_birth": _dob_strings(rng, pop.dob[rec.pid], day_first=True),
        "street": street,
        "town": town,
        "post_code": post_code,
        "created_at": pa.array(created.astype("datetime64[s]")).cast(pa.timestamp("us")),
        "updated_at": pa.array(updated.astype("datetime64[s]")).cast(pa.timestamp("us")),
    }
    return _with_missing(rng, columns, "shop"), rec.pid


def _newsletter_table(
    rng: np.random.Generator, pop: _Population, vocab: _Vocabulary, rec: _Records
) -> tuple[pa.Table, np.ndarray]:
    signed_up, _ = _record_times(rng, pop, rec, "newsletter", created_after_event=True)
    rec, (signed_up,) = _sort_by(rec, signed_up)
    n = len(rec.pid)
    first, middle, last = _person_names(rng, pop, vocab, rec, with_middle=True, swap_rate=0.0)
    female = pop.female[rec.pid]
    titles = pc.if_else(
        pa.array(female),
        _by_template(rng, TITLES["female"], {}, n),
        _by_template(rng, TITLES["male"], {}, n),
    )
    fields = {
        "first": first,
        "last": last,
        "LAST": pc.utf8_upper(last),
        "title": titles,
        "middle_initial": pc.coalesce(_join(pc.utf8_slice_codeunits(middle, 0, 1), " "), pa.scalar("")),
    }
    columns = {
        "signup_id": _join("nl-", _int_str(np.arange(1, n + 1), 8)),
        "email": _email_strings(rng, pop, vocab, rec, "newsletter"),
        "name": _by_template(rng, FULL_NAME_FORMATS, fields, n),
        "signed_up_at": _iso(signed_up),
        "consent": pa.array(rng.random(n) < NEWSLETTER_CONSENT_RATE),
    }
    return _with_missing(rng, columns, "newsletter"), rec.pid


def _orders_table(rng: np.random.Generator, shop: pa.Table) -> pa.Table:
    weights = np.array(ORDERS_PER_CUSTOMER_WEIGHTS, dtype=float)
    count = rng.choice(len(weights), shop.num_rows, p=weights / weights.sum())
    customer = np.repeat(shop["customer_id"].to_numpy(), count)
    since = np.repeat(shop["created_at"].to_numpy().astype("datetime64[s]").astype(np.int64), count)
    end = _epoch(REFERENCE_DATE) + SECONDS_PER_DAY - 1
    ordered = since + (rng.random(len(customer)) * (end - since)).astype(np.int64)
    mu, sigma = ORDER_AMOUNT_LOGNORMAL
    pence = np.maximum(199, np.round(rng.lognormal(mu, sigma, len(customer)) * 100)).astype(np.int64)
    order = np.argsort(ordered, kind="stable")
    return pa.table(
        {
            "order_id": pa.array(FIRST_ORDER_ID + np.arange(len(customer), dtype=np.int64)),
            "customer_id": pa.array(customer[order]),
            "ordered_at": _iso(ordered[order]),
            "amount": pa.array(pence[order] / 100).cast(pa.decimal128(12, 2)),  # rounds to the penny
        }
    )


def _truth(source: str, ids: pa.Array | pa.ChunkedArray, pid: np.ndarray) -> pa.Table:
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    return pa.table(
        {
            "source": pa.array(np.full(len(pid), source), pa.string()),
            "source_record_id": ids,
            "person_id": pa.array(pid + 1, pa.int64()),
        }
    )


def _write_jsonl(table: pa.Table, path: Path) -> None:
    """JSON lines, built as one arrow string per line and written as the array's bytes."""
    pieces: list[pa.Array | str] = []
    for i, (name, column) in enumerate(zip(table.column_names, table.columns)):
        values = column.combine_chunks()
        if pa.types.is_boolean(values.type):
            text = pc.if_else(values, "true", "false")
        else:
            escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
            text = _join('"', escaped, '"')
        pieces += ["{" if i == 0 else ",", f'"{name}":', pc.fill_null(text, "null")]
    lines = _join(*pieces, "}\n")
    if len(lines) == 0:
        path.write_bytes(b"")
        return
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
    path.write_bytes(memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]])


# --------------------------------------------------------------------------------------
# Fields with their noise
# --------------------------------------------------------------------------------------


def _person_names(
    rng: np.random.Generator,
    pop: _Population,
    vocab: _Vocabulary,
    rec: _Records,
    with_middle: bool,
    swap_rate: float = NAME_SWAP_RATE,
) -> tuple[pa.Array, pa.Array | None, pa.Array]:
    """First, middle and last name with nicknames, typos, swaps, CAPS and stray spaces."""
    pid, n = rec.pid, len(rec.pid)
    married = rec.post & (pop.married_surname[pid] >= 0)
    surname = np.where(married, pop.married_surname[pid], pop.surname[pid])
    first = vocab.first.text.take(vocab.first.noisy(rng, pop.first[pid], NAME_TYPO_RATE, NICKNAME_RATE))
    last = vocab.surname.text.take(vocab.surname.noisy(rng, surname, NAME_TYPO_RATE))
    swap = pa.array(rng.random(n) < swap_rate)
    first, last = pc.if_else(swap, last, first), pc.if_else(swap, first, last)

    middle = None
    if with_middle:
        has = pop.middle[pid] >= 0
        shown = rng.choice(3, n, p=[*MIDDLE_NAME_SHOWN, 1 - sum(MIDDLE_NAME_SHOWN)])
        full = vocab.first.text.take(vocab.first.canonical(np.maximum(pop.middle[pid], 0)))
        middle = pc.if_else(pa.array(has & (shown == 0)), full, pa.scalar(None, pa.string()))
        middle = pc.if_else(pa.array(has & (shown == 1)), pc.utf8_slice_codeunits(full, 0, 1), middle)

    case = _pick(rng, n, NAME_UPPER_RATE, NAME_LOWER_RATE)  # one style for the whole record
    first, middle, last = (
        None if arr is None else _whitespace(rng, _vary(arr, case, (pc.utf8_upper, pc.utf8_lower)))
        for arr in (first, middle, last)
    )
    return first, middle, last


def _email_strings(
    rng: np.random.Generator, pop: _Population, vocab: _Vocabulary, rec: _Records, source: str
) -> pa.Array:
    n = len(rec.pid)
    idx = np.where(rec.post, pop.email_post[rec.pid], pop.email_pre[rec.pid])
    local = pop.emails["local"].take(idx)
    domain = pop.emails["domain"][idx]
    tagged = vocab.plus_tag_domain[domain] & (rng.random(n) < GMAIL_PLUS_TAG_RATE[source])
    local = _apply(local, tagged, lambda s: _join(s, "+" + PLUS_TAG[source]))
    domain = np.where(rng.random(n) < EMAIL_DOMAIN_TYPO_RATE, domain + vocab.n_domains, domain)
    email = _join(local, "@", vocab.domains.take(domain))
    case = _pick(rng, n, EMAIL_UPPER_RATE, EMAIL_MIXED_CASE_RATE / 2, EMAIL_MIXED_CASE_RATE / 2)
    # JOHN.SMITH@GMAIL.COM, John.smith@gmail.com, John.Smith@Gmail.Com
    email = _vary(email, case, (pc.utf8_upper, pc.utf8_capitalize, pc.utf8_title))
    return _whitespace(rng, email, rate=WHITESPACE_RATE / 2, inner=False)


def _phone_strings(rng: np.random.Generator, pop: _Population, rec: _Records, source: str) -> pa.Array:
    idx = pop.phone[rec.pid]
    parts = {k: v.take(idx) for k, v in pop.phones.items()}
    wrong = rng.random(len(idx)) < PHONE_TYPO_RATE

    def wrong_last_digit(c: pa.Array) -> pa.Array:
        return _join(pc.utf8_slice_codeunits(c, 0, -1), _int_str(rng.integers(0, 10, len(c))))

    parts["c"] = _apply(parts["c"], wrong, wrong_last_digit)
    return _by_template(rng, PHONE_FORMATS[source], parts, len(idx))


def _address_fields(
    rng: np.random.Generator, pop: _Population, vocab: _Vocabulary, rec: _Records, abbreviation_rate: float
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Address line, city and postcode, the new ones for records made after a move."""
    n = len(rec.pid)
    idx = np.where(rec.post, pop.addr_post[rec.pid], pop.addr_pre[rec.pid])
    a = pop.addresses
    street_type = a["street_type"][idx]
    type_text = pc.if_else(
        pa.array(rng.random(n) < abbreviation_rate),
        vocab.street_type_short.take(street_type),
        vocab.street_type_full.take(street_type),
    )
    line = _join(a["house"].take(idx), " ", a["street"].take(idx), " ", type_text)
    flat = a["flat"][idx]
    flats = np.flatnonzero(flat > 0)
    if len(flats):
        sub = {"flat": _int_str(flat[flats]), "line": line.take(flats)}
        with_flat = _by_template(rng, FLAT_FORMATS, sub, len(flats))
        line = pc.replace_with_mask(line, pa.array(flat > 0), with_flat)
    shouting = rng.random(n) < ADDRESS_UPPER_RATE
    line = _whitespace(rng, _apply(line, shouting, pc.utf8_upper))
    city = _whitespace(rng, _apply(vocab.cities.take(a["city"][idx]), shouting, pc.utf8_upper))
    postcode = a["postcode"].take(idx)
    postcode = _vary(
        postcode,
        _pick(rng, n, POSTCODE_NO_SPACE_RATE, POSTCODE_LOWER_RATE),
        (lambda s: pc.replace_substring(s, " ", ""), pc.utf8_lower),
    )
    return line, city, _whitespace(rng, postcode, inner=False)


def _dob_strings(rng: np.random.Generator, dob: np.ndarray, day_first: bool) -> pa.Array:
    """yyyy-mm-dd or dd/mm/yyyy, a few with day and month swapped by mistake."""
    month_start = dob.astype("datetime64[M]")
    year = dob.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    day = (dob - month_start).astype(np.int64) + 1
    swap = (rng.random(len(dob)) < DOB_TRANSPOSE_RATE) & (day <= 12) & (day != month)
    month, day = np.where(swap, day, month), np.where(swap, month, day)
    y, m, d = _int_str(year), _int_str(month, 2), _int_str(day, 2)
    return _join(d, "/", m, "/", y) if day_first else _join(y, "-", m, "-", d)


def _whitespace(
    rng: np.random.Generator, arr: pa.Array, rate: float = WHITESPACE_RATE, inner: bool = True
) -> pa.Array:
    """Leading, trailing or (inside multi-word values) doubled spaces in a few values."""
    kinds = 3 if inner else 2
    return _vary(
        arr,
        _pick(rng, len(arr), *[rate / kinds] * kinds),
        (
            lambda s: _join(" ", s),
            lambda s: _join(s, " "),
            lambda s: pc.replace_substring(s, " ", "  ", max_replacements=1),
        )[:kinds],
    )


def _with_missing(rng: np.random.Generator, columns: dict[str, pa.Array], source: str) -> pa.Table:
    """The source's table, with values left empty at the source's MISSING_RATE."""
    for column, rate in MISSING_RATE[source].items():
        values = columns[column]
        empty = pa.array(rng.random(len(values)) < rate)
        columns[column] = pc.if_else(empty, pa.scalar(None, values.type), values)
    return pa.table(columns)


def _guids(rng: np.random.Generator, n: int) -> pa.Array:
    """Version-4-looking GUIDs (8-4-4-4-12 lower-case hex), from the seeded generator."""
    hexed = np.frombuffer(rng.bytes(16 * n).hex().encode(), dtype=np.uint8).reshape(n, 32)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    for start, stop, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        out[:, at : at + stop - start] = hexed[:, start:stop]
    out[:, 14] = ord("4")
    out[:, 19] = np.frombuffer(b"89ab", dtype=np.uint8)[hexed[:, 16] % 4]
    return pa.array(out.view("S36").ravel()).cast(pa.string())


def _iso(epoch_seconds: np.ndarray) -> pa.Array:
    """ISO 8601 UTC timestamps: 2021-03-04T10:22:13Z."""
    text = pc.cast(pa.array(epoch_seconds.astype("datetime64[s]")), pa.string())
    return _join(pc.replace_substring(text, " ", "T"), "Z")


# --------------------------------------------------------------------------------------
# Small vectorised helpers
# --------------------------------------------------------------------------------------


def _join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of arrays and literal strings."""
    return pc.binary_join_element_wise(*parts, "")


def _int_str(values: np.ndarray, width: int = 0) -> pa.Array:
    """Integers as text, zero-padded to width."""
    values = np.asarray(values, dtype=np.int64)
    if len(values) == 0 or (values.min() >= 0 and values.max() < _SMALL_INTS):
        return _small_int_strings(width).take(pa.array(values))  # a lookup beats formatting
    text = pc.cast(pa.array(values), pa.string())
    return pc.utf8_lpad(text, width, "0") if width else text


_SMALL_INTS = 10_000


@functools.cache
def _small_int_strings(width: int) -> pa.Array:
    return pa.array([str(i).zfill(width) for i in range(_SMALL_INTS)], pa.string())


def _apply(arr: pa.Array, mask: np.ndarray, fn: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """`fn` applied to the values where mask is set, the others unchanged."""
    return _vary(arr, np.where(mask, 0, -1), (fn,))


def _vary(arr: pa.Array, choice: np.ndarray, fns: Sequence[Callable[[pa.Array], pa.Array]]) -> pa.Array:
    """Rows with choice k replaced by fns[k] of their value; choice -1 leaves a row as it is."""
    changes = []
    for k, fn in enumerate(fns):
        rows = np.flatnonzero(choice == k)
        if len(rows):
            changes.append((rows, fn(arr.take(pa.array(rows)))))
    return _patch(arr, *changes)


def _patch(arr: pa.Array, *changes: tuple[np.ndarray, pa.Array]) -> pa.Array:
    """arr with each (rows, values) written over it, in one gather."""
    if not changes:
        return arr
    source = np.arange(len(arr))
    offset = len(arr)
    for rows, values in changes:
        source[rows] = offset + np.arange(len(rows))
        offset += len(rows)
    return _concat([arr, *(values for _, values in changes)]).take(pa.array(source))


def _concat(arrays) -> pa.Array:
    """pa.concat_arrays, taking chunked arrays too (pyarrow's kernels return them for
    inputs of some millions of rows)."""
    return pa.concat_arrays([a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in arrays])


def _pick(rng: np.random.Generator, n: int, *rates: float) -> np.ndarray:
    """Per row: k with probability rates[k], else -1."""
    u = rng.random(n)
    bucket = np.searchsorted(np.cumsum(rates), u, side="right")
    return np.where(bucket < len(rates), bucket, -1)


_TEMPLATE_FIELD = re.compile(r"\{(\w+)\}")


def _by_template(
    rng: np.random.Generator,
    templates: Sequence[tuple[float, str]],
    fields: Mapping[str, pa.Array],
    n: int,
) -> pa.Array:
    """Each row rendered with a template picked by weight, e.g. "0{a} {b}{c}"."""
    choice = rng.choice(len(templates), n, p=_weights(templates))
    parts, rows_of = [], []
    for k, (_, template) in enumerate(templates):
        rows = np.flatnonzero(choice == k)
        if len(rows) == 0:
            continue
        taken = pa.array(rows)
        pieces = _TEMPLATE_FIELD.split(template)  # literal, field, literal, field, ...
        args = [fields[p].take(taken) if i % 2 else p for i, p in enumerate(pieces) if p]
        if not any(isinstance(a, pa.Array) for a in args):
            args = [pa.array(np.full(len(rows), template), pa.string())]
        parts.append(_join(*args) if len(args) > 1 else args[0])
        rows_of.append(rows)
    if not parts:
        return pa.array([], pa.string())
    order = np.concatenate(rows_of)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return _concat(parts).take(pa.array(inverse))


def _repeat_occurrence(values: pa.Array) -> np.ndarray:
    """True for the second and later occurrence of each value. Dictionary codes are given
    in order of first appearance, so a row repeats a value when its code is no higher
    than every code before it: one pass, where sorting the codes took 2 s at 10M records."""
    codes = values.dictionary_encode().indices.to_numpy(zero_copy_only=False).astype(np.int64)
    if len(codes) == 0:
        return np.zeros(0, dtype=bool)
    highest_before = np.concatenate([[-1], np.maximum.accumulate(codes)[:-1]])
    return codes <= highest_before


def _weights(weighted: Sequence[tuple]) -> np.ndarray:
    w = np.array([float(item[0]) for item in weighted])
    return w / w.sum()


def _zipf(n: int, exponent: float, offset: float) -> np.ndarray:
    """Frequency weights for a list ordered by popularity: the head common, the tail rare."""
    w = 1.0 / (np.arange(n) + offset) ** exponent
    return w / w.sum()


def _epoch(date: str) -> int:
    return int(np.datetime64(date, "s").astype(np.int64))


def _yaml_str(text: str) -> str:
    """A YAML scalar for a path: bare when plainly a path, else double-quoted (JSON is YAML)."""
    if re.fullmatch(r"[A-Za-z0-9_.-]*/[A-Za-z0-9_./-]*|\.", text):
        return text
    return json.dumps(text)
