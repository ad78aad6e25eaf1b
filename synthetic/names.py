"""Name pools for synthetic people, and the lawful variants and keying errors applied to them."""

from __future__ import annotations

import unicodedata

HISPANIC_FIRST = [
    "María",
    "José",
    "Juan",
    "Luis",
    "Carlos",
    "Ana",
    "Sofía",
    "Alejandro",
    "Guadalupe",
    "Jesús",
    "Francisco",
    "Miguel",
    "Ángel",
    "Rosa",
    "Elena",
    "Javier",
    "Fernando",
    "Patricia",
    "Verónica",
    "Andrés",
    "Ramón",
    "Lucía",
    "Raúl",
    "Adriana",
    "Héctor",
    "Mónica",
    "Sergio",
    "Beatriz",
    "Martín",
    "Inés",
]
ANGLO_FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Nancy",
    "Daniel",
    "Lisa",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Dorothy",
    "Kevin",
    "Carol",
    "Brian",
    "Amanda",
]
ARABIC_FIRST = [
    "Mohammed",
    "Ahmed",
    "Fatima",
    "Aisha",
    "Omar",
    "Ali",
    "Layla",
    "Yusuf",
    "Khalid",
    "Mariam",
    "Hassan",
    "Noor",
    "Ibrahim",
    "Zainab",
    "Samir",
    "Rania",
]
ASIAN_FIRST = [
    "Wei",
    "Li",
    "Ming",
    "Hui",
    "Jun",
    "Anh",
    "Minh",
    "Thanh",
    "Linh",
    "Hoa",
    "Tuan",
    "Priya",
    "Rahul",
    "Ananya",
    "Arjun",
    "Deepika",
    "Sanjay",
    "Kavya",
]
OTHER_FIRST = [
    "Olga",
    "Ivan",
    "Dmitri",
    "Chidi",
    "Amara",
    "Kwame",
    "Ngozi",
    "Jean-Luc",
    "Zoë",
    "Søren",
    "Björn",
    "Chloé",
    "Noël",
    "Renée",
    "Anaïs",
]

HISPANIC_LAST = [
    "García",
    "López",
    "Martínez",
    "Rodríguez",
    "Hernández",
    "González",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Flores",
    "Rivera",
    "Gómez",
    "Díaz",
    "Morales",
    "Reyes",
    "Cruz",
    "Ortiz",
    "Gutiérrez",
    "Chávez",
    "Ramos",
    "Ruiz",
    "Álvarez",
    "Mendoza",
    "Castillo",
    "Jiménez",
    "Vásquez",
    "Romero",
    "Herrera",
    "Medina",
    "Aguilar",
    "Vargas",
    "Castro",
    "Guzmán",
    "Fernández",
    "Muñoz",
    "Rojas",
    "Salazar",
    "Contreras",
    "Domínguez",
    "Villanueva",
    "Bustamante",
    "Montenegro",
    "Echeverría",
    "Valenzuela",
    "Santiago",
    "Carrillo",
    "Espinoza",
    "Figueroa",
]
ANGLO_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
    "Martin",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Carter",
    "Mitchell",
    "Roberts",
    "Turner",
    "Phillips",
    "Campbell",
    "Parker",
    "Evans",
    "Edwards",
    "Collins",
    "Stewart",
    "Morris",
    "Rogers",
    "Reed",
    "Cook",
    "Morgan",
    "Bell",
    "Murphy",
    "Bailey",
    "Cooper",
    "Richardson",
    "Howard",
    "Ward",
    "Peterson",
    "Gray",
    "Ramsey",
    "Watson",
    "Brooks",
    "Kelly",
    "Sanders",
    "Price",
    "O'Brien",
    "O'Connor",
    "McDonald",
    "Fitzgerald",
    "Christensen",
    "Richardson",
    "Henderson",
    "Washington",
    "Blackwell",
    "Montgomery",
    "Pemberton",
]
ARABIC_LAST = [
    "Haddad",
    "Khalil",
    "Mansour",
    "Nasser",
    "Saleh",
    "Hamdan",
    "Farouk",
    "Aziz",
    "Rahman",
    "Qureshi",
    "Al-Hassan",
    "Al-Masri",
    "Al-Rashid",
    "Abdullah",
    "Bakr",
    "Darwish",
    "Haddadin",
    "Khoury",
    "Suleiman",
    "Youssef",
]
ASIAN_LAST = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Kim",
    "Park",
    "Lee",
    "Choi",
    "Patel",
    "Shah",
    "Singh",
    "Kumar",
    "Sharma",
    "Gupta",
    "Reddy",
    "Iyer",
    "Nair",
    "Chatterjee",
]
OTHER_LAST = [
    "Müller",
    "Schäfer",
    "Jørgensen",
    "Kowalski",
    "Nowak",
    "Ivanova",
    "Petrov",
    "Okafor",
    "Mensah",
    "Adeyemi",
    "Dubois",
    "Lefèvre",
    "Moreau",
    "Rossi",
    "Bianchi",
    "Esposito",
    "Novák",
    "Horváth",
    "Öztürk",
    "Yılmaz",  # noqa: RUF001 - a Turkish name
]
ENFORCEMENT_FIRST = [
    "Viktor",
    "Radu",
    "Emeka",
    "Tariq",
    "Sven",
    "Boris",
    "Anton",
    "Marek",
    "Dragan",
    "Lazar",
    "Nikolai",
    "Stefan",
]
ENFORCEMENT_LAST = [
    "Kovalenko",
    "Draganov",
    "Obi",
    "Marchetti",
    "Lindqvist",
    "Volkov",
    "Petrescu",
    "Horvat",
    "Stanković",
    "Lazarev",
]

# (first pool, last pool, probability of a compound surname)
ORIGINS = [
    (HISPANIC_FIRST, HISPANIC_LAST, 0.55),
    (ANGLO_FIRST, ANGLO_LAST, 0.03),
    (ARABIC_FIRST, ARABIC_LAST, 0.15),
    (ASIAN_FIRST, ASIAN_LAST, 0.0),
    (OTHER_FIRST, OTHER_LAST, 0.05),
]
ORIGIN_WEIGHTS = [0.35, 0.38, 0.08, 0.12, 0.07]
PARTICLE_SURNAMES = ("De la Cruz", "Del Toro", "De León", "De los Santos", "Van der Berg")


def strip_accents(value: str) -> str:
    """The name without diacritics (as many payroll systems type it)."""
    decomposed = unicodedata.normalize("NFKD", value)
    return (
        "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        .replace("ø", "o")
        .replace("ı", "i")  # noqa: RUF001 - the dotless i folded on purpose
    )


def typo(value: str, position_seed: int) -> str:
    """One letter of a long name replaced by a neighbour on the keyboard row (a keying error)."""
    letters = [i for i, ch in enumerate(value) if ch.isalpha() and i > 1]
    if not letters:
        return value
    i = letters[position_seed % len(letters)]
    ch = value[i]
    repl = {
        "a": "s",
        "e": "r",
        "i": "o",
        "o": "p",
        "u": "y",
        "n": "m",
        "s": "z",
        "r": "t",
        "l": "k",
        "z": "s",
    }.get(ch.lower(), "e")
    if repl == ch.lower():
        repl = "a"
    return value[:i] + (repl.upper() if ch.isupper() else repl) + value[i + 1 :]


# Hypocoristics people are known by, for given names of the pools: the ones a clerk types from
# what the worker says instead of from the document. Not the matcher's list on purpose: the
# generator describes people, and a matcher that knows only some of these should show it.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "James": ("Jim", "Jimmy", "Jamie"),
    "Mary": ("Molly", "Polly"),
    "Robert": ("Bob", "Rob", "Bobby"),
    "Patricia": ("Pat", "Patty", "Trish"),
    "John": ("Jack", "Johnny"),
    "Jennifer": ("Jen", "Jenny"),
    "Michael": ("Mike", "Mikey"),
    "David": ("Dave",),
    "Elizabeth": ("Liz", "Beth", "Betty"),
    "William": ("Bill", "Will", "Billy"),
    "Barbara": ("Barb",),
    "Richard": ("Rick", "Rich", "Dick"),
    "Susan": ("Sue", "Susie"),
    "Joseph": ("Joe", "Joey"),
    "Jessica": ("Jess", "Jessie"),
    "Thomas": ("Tom", "Tommy"),
    "Sarah": ("Sally",),
    "Charles": ("Charlie", "Chuck"),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Sandra": ("Sandy",),
    "Donald": ("Don", "Donnie"),
    "Steven": ("Steve",),
    "Kimberly": ("Kim",),
    "Andrew": ("Andy", "Drew"),
    "Joshua": ("Josh",),
    "Kenneth": ("Ken", "Kenny"),
    "Dorothy": ("Dot", "Dottie"),
    "Amanda": ("Mandy",),
    "Emily": ("Em",),
    "Michelle": ("Shelly",),
    "José": ("Pepe", "Chepe"),
    "María": ("Mari",),
    "Alejandro": ("Alex", "Alejo"),
    "Guadalupe": ("Lupe", "Lupita"),
    "Jesús": ("Chuy", "Chucho"),
    "Francisco": ("Paco", "Pancho", "Frank"),
    "Fernando": ("Nando",),
    "Javier": ("Javi",),
    "Verónica": ("Vero",),
    "Adriana": ("Adri",),
    "Mónica": ("Moni",),
    "Sergio": ("Checo",),
    "Beatriz": ("Bea",),
    "Ramón": ("Moncho",),
    "Lucía": ("Lucy",),
    "Ana": ("Anita",),
    "Mohammed": ("Mo",),
    "Ibrahim": ("Abe",),
    "Dmitri": ("Dima",),
    "Ivan": ("Vanya",),
    "Olga": ("Olya",),
}

# Other romanizations of the same name (Arabic, Chinese Wade-Giles or Cantonese against pinyin,
# Korean, Russian, German and Danish umlauts written out): each is how some other document or
# clerk writes it. Dropping a diacritic is not here: that is its own variant.
TRANSLITERATIONS: dict[str, tuple[str, ...]] = {
    "Mohammed": ("Muhammad", "Mohamed", "Mohammad", "Muhammed"),
    "Ahmed": ("Ahmad",),
    "Fatima": ("Fatimah", "Fatma"),
    "Aisha": ("Aysha", "Ayesha", "Aicha"),
    "Omar": ("Umar",),
    "Layla": ("Leila", "Laila"),
    "Yusuf": ("Youssef", "Yousef", "Yousif"),
    "Khalid": ("Khaled",),
    "Mariam": ("Maryam",),
    "Hassan": ("Hasan",),
    "Noor": ("Nour", "Nur"),
    "Ibrahim": ("Ebrahim",),
    "Zainab": ("Zaynab", "Zeinab"),
    "Samir": ("Sameer",),
    "Rania": ("Ranya",),
    "Haddad": ("Hadad",),
    "Khalil": ("Khaleel",),
    "Mansour": ("Mansur",),
    "Nasser": ("Naser", "Nasir"),
    "Saleh": ("Salih",),
    "Farouk": ("Farooq", "Faruq"),
    "Aziz": ("Azeez",),
    "Rahman": ("Rehman",),
    "Qureshi": ("Quraishi", "Koreshi"),
    "Al-Hassan": ("El-Hassan", "Al-Hasan"),
    "Al-Masri": ("El-Masry",),
    "Al-Rashid": ("Al-Rasheed", "El-Rashid"),
    "Abdullah": ("Abdallah",),
    "Darwish": ("Darweesh",),
    "Khoury": ("Khouri", "Khuri"),
    "Suleiman": ("Sulaiman", "Soliman"),
    "Youssef": ("Yousef", "Yusuf"),
    "Zhang": ("Chang",),
    "Zhou": ("Chou", "Chow"),
    "Zhao": ("Chao",),
    "Huang": ("Hwang", "Wong"),
    "Liu": ("Lau",),
    "Chen": ("Chan",),
    "Wang": ("Wong",),
    "Li": ("Lee",),
    "Wu": ("Ng",),
    "Yang": ("Yeung",),
    "Lee": ("Yi", "Rhee"),
    "Park": ("Pak", "Bak"),
    "Choi": ("Choe", "Choy"),
    "Reddy": ("Reddi",),
    "Petrov": ("Petroff",),
    "Ivanova": ("Ivanowa",),
    "Dmitri": ("Dmitry", "Dmitriy"),
    "Müller": ("Mueller",),
    "Schäfer": ("Schaefer",),
    "Jørgensen": ("Joergensen",),
    "Søren": ("Soeren",),
    "Björn": ("Bjoern",),
}

# Neighbours on a US keyboard (QWERTY), for keying errors.
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
KEY_NEIGHBOURS: dict[str, str] = {}
for _r, _row in enumerate(_ROWS):
    for _i, _ch in enumerate(_row):
        _near = _row[max(0, _i - 1) : _i] + _row[_i + 1 : _i + 2]
        for _other in (_r - 1, _r + 1):
            if 0 <= _other < len(_ROWS):
                _near += _ROWS[_other][max(0, _i - 1) : _i + 1]
        KEY_NEIGHBOURS[_ch] = _near

# Kinds of one-letter keying error, as (name, weight): a neighbouring key, a letter left out,
# a letter doubled, two neighbouring letters exchanged (the proportions of Damerau's and of
# Pollock and Zamora's counts of misspellings: substitutions most, then omissions,
# transpositions and insertions).
KEYING_ERRORS = (
    ("substitution", 0.45),
    ("omission", 0.25),
    ("transposition", 0.15),
    ("insertion", 0.15),
)


def keying_error(value: str, r: int) -> str:
    """`value` with one letter keyed wrong, the kind and place chosen by `r` (a non-negative int).

    Never the first letter of a word (people rarely mistype it), never the same string. A name
    of fewer than three letters comes back unchanged: the caller picks names long enough.
    """
    at = [i for i in range(1, len(value)) if value[i].isalpha() and value[i - 1].isalpha()]
    if len(at) < 2:
        return value
    i = at[r % len(at)]
    r //= len(at)
    pick, total = r % 100, 0.0
    kind = KEYING_ERRORS[-1][0]
    for name, weight in KEYING_ERRORS:
        total += weight * 100
        if pick < total:
            kind = name
            break
    r //= 100
    ch = value[i]
    if kind == "transposition" and i + 1 < len(value) and value[i + 1].isalpha():
        if value[i + 1].lower() != ch.lower():
            return value[:i] + value[i + 1] + ch + value[i + 2 :]
        kind = "substitution"
    if kind == "omission":
        return value[:i] + value[i + 1 :]
    if kind == "insertion":
        return value[:i] + ch + value[i:]
    base = strip_accents(ch).lower()
    near = KEY_NEIGHBOURS.get(base, "e") or "e"
    repl = near[r % len(near)]
    if repl == ch.lower():
        repl = near[(r + 1) % len(near)] if len(near) > 1 else ("a" if repl != "a" else "e")
    return value[:i] + (repl.upper() if ch.isupper() else repl) + value[i + 1 :]
