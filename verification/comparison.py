"""Comparison levels: how close two names, two dates of birth or two identifiers are, as a small ordered scale.

One scale, shared by the identity rules (SSA-IDENTITY, DHS-IDENTITY: `verification.matching`) and
the enforcement linkage model (`crossref.linkage`), so a lawful worker's typo is judged the same
way wherever it is met. The levels run from the strongest agreement (0) to disagreement; -1 is a
missing value on either side, which is no evidence at all (weight 0 in the linkage model), never a
match: two empty names are two missing values.

Names (both sides normalized with `matching.normalize_name`; `NAME_LEVELS`):
- 0 exact: equal, word order aside, or equal once hyphens and spaces are dropped;
- 1 close: Jaro-Winkler >= 0.94, or one side's parts a strict subset of the other's (a compound
  surname given in part, a second given name);
- 2 similar: Jaro-Winkler >= 0.88, or one edit apart (names of 3+ letters: a typo);
- 3 alternate: the same sound (metaphone), the same transliteration skeleton ("Mohammed",
  "Muhammad"; "Li", "Lee"), a known nickname ("Bill", "William"; Spanish, Russian and Arabic
  hypocorisms), a Spanish diminutive ("Anita", "Ana") or another romanization of a Chinese
  surname ("Wu", "Ng"; "Zhou", "Chow");
- 4 initial: one side is an initial, the other's first letter;
- 5 weak: Jaro-Winkler >= 0.70 (a heavily mistyped name, or a different one: the model weighs it);
- 6 different.

Dates of birth (as proleptic ordinals, 0 for none; `DOB_LEVELS`): 0 exact; 1 day and month
swapped; 2 one digit of YYYYMMDD differs; 3 the year one or ten off, day and month equal;
4 one component differs, the other two equal; 5 two digits differ; 6 different.

Identifiers of one kind (SSN, A-Number, passport; `IDENTIFIER_LEVELS`): 0 exact; 1 one digit off
or two adjacent digits exchanged (a keying slip); 2 two such slips; 3 different.

The functions are pure and vectorized over pairs (numpy, rapidfuzz's `cpdist`); callers cache by
distinct pair, as names repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache

import jellyfish
import numpy as np
from nicknames import name_triplets
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

# Common English given-name nicknames (symmetric groups).
_NICKNAME_GROUPS = [
    {"william", "bill", "billy", "will", "willie", "liam"},
    {"robert", "bob", "bobby", "rob", "robbie", "bert"},
    {"richard", "rick", "ricky", "dick", "rich"},
    {"james", "jim", "jimmy", "jamie"},
    {"john", "jack", "johnny", "jon"},
    {"michael", "mike", "mikey", "mick"},
    {"elizabeth", "liz", "lizzie", "beth", "betty", "eliza", "libby"},
    {"katherine", "catherine", "kathryn", "kate", "katie", "kathy", "cathy", "kat"},
    {"margaret", "maggie", "meg", "peggy", "marge"},
    {"joseph", "joe", "joey", "jose", "pepe"},
    {"francisco", "paco", "pancho", "frank"},
    {"guadalupe", "lupe", "lupita"},
    {"jesus", "chuy"},
    {"alejandro", "alex", "alejo"},
    {"alexander", "alex", "sasha", "xander"},
    {"anthony", "tony", "antonio", "toni"},
    {"thomas", "tom", "tommy"},
    {"daniel", "dan", "danny"},
    {"david", "dave", "davey"},
    {"christopher", "chris", "kit"},
    {"jennifer", "jen", "jenny"},
    {"patricia", "pat", "patty", "tricia"},
    {"susan", "sue", "susie"},
    {"edward", "ed", "eddie", "ted", "ned"},
    {"charles", "charlie", "chuck"},
    {"mohammed", "muhammad", "mohamed", "mohammad", "muhammed"},
    {"nguyen", "nguyễn"},
    # Spanish, Portuguese, Russian and Arabic hypocorisms the English table lacks.
    {"jose", "pepe", "chepe"},
    {"jesus", "chucho", "chuy"},
    {"sergio", "checo"},
    {"eduardo", "lalo"},
    {"guillermo", "memo"},
    {"ignacio", "nacho"},
    {"alberto", "beto"},
    {"roberto", "beto"},
    {"antonio", "tono", "tonio"},
    {"graciela", "chela"},
    {"concepcion", "concha", "conchita"},
    {"rosario", "charo"},
    {"beatriz", "bea"},
    {"dolores", "lola"},
    {"mercedes", "meche"},
    {"ivan", "vanya"},
    {"dmitri", "dmitry", "dima"},
    {"mikhail", "misha"},
    {"nikolai", "kolya"},
    {"vladimir", "volodya", "vova"},
    {"sergei", "sergey", "seryozha"},
    {"aleksandr", "alexander", "sasha"},
    {"yekaterina", "ekaterina", "katya"},
    {"ibrahim", "abraham", "abe"},
    {"mohammed", "muhammad", "mohamed", "mo", "hamoudi"},
    {"abdullah", "abdallah", "abdul"},
    {"ramon", "moncho", "mon"},
    {"manuel", "manolo", "manu"},
    {"enrique", "quique", "kike"},
    {"rafael", "rafa", "rafi"},
    {"salvador", "chava", "salva"},
    {"santiago", "santi", "chago"},
    {"gonzalo", "chalo"},
    {"gregorio", "goyo"},
    {"fernando", "nando", "fer"},
    {"federico", "fede"},
    {"javier", "javi"},
    {"rodrigo", "rodri"},
    {"isabel", "chabela", "isa"},
    {"teresa", "tere"},
    {"veronica", "vero"},
    {"adriana", "adri"},
    {"monica", "moni"},
    {"maria", "mari"},
    {"joao", "joaozinho"},
    {"olga", "olya"},
    {"yelena", "elena", "lena"},
    {"anastasia", "nastya"},
]

# The same Chinese surname as Mandarin pinyin, Wade-Giles, Cantonese and Hokkien write it (the
# hundred-surnames' commonest), and the same Korean surname in its romanizations: each is how a
# passport, an older record or a clerk wrote it. Single syllables, so they serve given names too.
_ROMANIZATION_GROUPS = [
    {"zhang", "chang", "cheung", "cheong", "teo", "teoh"},
    {"wang", "wong", "ong", "heng"},
    {"li", "lee", "lei", "lie"},
    {"chen", "chan", "chin", "tan", "chun"},
    {"liu", "lau", "lao", "low"},
    {"yang", "yeung", "yeo", "young"},
    {"huang", "hwang", "wong", "ng", "oei", "ooi"},
    {"zhao", "chao", "chiu", "chew"},
    {"wu", "woo", "ng", "goh", "ngo"},
    {"zhou", "chou", "chow", "chau", "chew"},
    {"xu", "hsu", "tsui", "hui", "koh"},
    {"sun", "suen", "soon"},
    {"ma", "mah", "mar"},
    {"zhu", "chu", "chiu", "choo"},
    {"hu", "hoo", "wu", "foo"},
    {"guo", "kuo", "kwok", "kok", "quek"},
    {"he", "ho", "hoh"},
    {"lin", "lam", "lim", "lum"},
    {"luo", "lo", "law", "loh"},
    {"liang", "leung", "leong", "neo"},
    {"song", "sung", "soong"},
    {"zheng", "cheng", "chang", "tay", "tee"},
    {"xie", "hsieh", "tse", "chia", "cheah"},
    {"han", "hon"},
    {"tang", "tong", "tung"},
    {"feng", "fung", "fong"},
    {"deng", "teng", "tang"},
    {"cao", "tsao", "cho", "chou"},
    {"peng", "pang", "phang"},
    {"zeng", "tseng", "tsang", "chang"},
    {"xiao", "hsiao", "siu", "seow"},
    {"cai", "tsai", "choi", "chua", "tsoi"},
    {"pan", "poon", "phua"},
    {"yuan", "yuen", "wan"},
    {"jiang", "chiang", "keung", "kang"},
    {"ye", "yeh", "yip", "ip", "yap"},
    {"lu", "lui", "loo", "lo"},
    {"wei", "ngai", "gui"},
    {"du", "tu", "to"},
    {"qian", "chien", "chin"},
    {"zhong", "chung", "cheong"},
    # Korean surnames: Revised Romanization, McCune-Reischauer and the spellings families kept.
    {"lee", "yi", "rhee", "ri"},
    {"park", "pak", "bak"},
    {"choi", "choe", "choy"},
    {"kim", "gim"},
    {"jung", "chung", "jeong", "chong"},
    {"kang", "gang"},
    {"cho", "jo", "joe"},
    {"yoon", "yun"},
    {"jang", "chang"},
    {"lim", "im", "rim", "yim"},
    {"shin", "sin", "shinn"},
    {"seo", "suh", "so"},
    {"kwon", "gwon"},
    {"ahn", "an"},
    {"yoo", "yu", "you", "ryu"},
    {"ko", "go", "koh"},
    {"moon", "mun"},
    {"bae", "pae"},
    {"baek", "paik", "paek"},
    {"heo", "huh", "hur"},
    {"noh", "roh", "no"},
    {"jeon", "jun", "chun", "chon"},
]


def _romanizations() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for group in _ROMANIZATION_GROUPS:
        for name in group:
            out.setdefault(name, set()).update(group - {name})
    return {k: frozenset(v) for k, v in out.items()}


# Surname -> the other romanizations of it (`is_romanization`).
ROMANIZATIONS = _romanizations()


def is_romanization(a: str, b: str) -> bool:
    """Whether two normalized single words are romanizations of the same Chinese or Korean name syllable."""
    return b in ROMANIZATIONS.get(a, frozenset())


_DIMINUTIVE = ("ito", "ita", "itos", "itas", "cito", "cita", "illo", "illa", "ico", "ica")
_DIMINUTIVE_ENDINGS = frozenset(_DIMINUTIVE)


@lru_cache(maxsize=1 << 16)
def is_diminutive(a: str, b: str) -> bool:
    """Whether one normalized given name is a Spanish diminutive of the other (Anita, Juanito, Carlitos, Pedrito).

    The stem is the name as it is, less a final vowel (Ana, Pedro), or less a final vowel and "s"
    (Carlos): the name must have three letters or more, so short names do not meet by chance.
    """
    if len(a) > len(b):
        a, b = b, a
    if len(a) < 3 or " " in a:
        return False
    stems = {a}
    if a[-1] in "aeo":
        stems.add(a[:-1])
    if a.endswith(("as", "es", "os")):
        stems.add(a[:-2])
    # b is a stem and an ending: the ending is what follows the stem.
    return any(
        len(stem) >= 2 and b.startswith(stem) and b[len(stem) :] in _DIMINUTIVE_ENDINGS
        for stem in stems
    )


def _nicknames() -> dict[str, frozenset[str]]:
    """Given name -> the names it is a nickname of or has as nicknames.

    The `nicknames` package's table (2,600 English given-name relations, "sandy" for "sandra",
    "lucy" for "lucia"), each relation both ways but not chained (Sandy is Sandra's and Alexandra's,
    which does not make Sandra Alexandra), plus the groups above (Spanish and Arabic forms).
    """
    out: dict[str, set[str]] = {}
    for t in name_triplets():
        a, b = t.name1.lower(), t.name2.lower()
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    for group in _NICKNAME_GROUPS:
        for name in group:
            out.setdefault(name, set()).update(group - {name})
    return {k: frozenset(v) for k, v in out.items()}


NICKNAMES = _nicknames()

MISSING = -1

# What forms put where a name is not known: the I-9's "Unknown" for a worker with one name, and the
# law-enforcement "first/last name unknown", "no first/middle name". A placeholder is a missing
# value (no evidence), never a name that disagrees (`is_placeholder`).
PLACEHOLDER_NAMES = frozenset({"unknown", "unk", "fnu", "lnu", "nfn", "nln", "nmn", "none", "na"})


def is_placeholder(normalized_name: str) -> bool:
    """Whether a normalized name is a form's placeholder for an unknown name."""
    return normalized_name in PLACEHOLDER_NAMES


NAME_LEVELS = ("exact", "close", "similar", "alternate", "initial", "weak", "different")
NAME_DIFFERENT = len(NAME_LEVELS) - 1
WEAK_JW = 0.70
DOB_LEVELS = (
    "exact",
    "day_month_swapped",
    "one_digit",
    "year_off",
    "one_component",
    "two_digits",
    "different",
)
IDENTIFIER_LEVELS = ("exact", "one_off", "two_off", "different")
DOB_DIFFERENT = len(DOB_LEVELS) - 1
IDENTIFIER_DIFFERENT = len(IDENTIFIER_LEVELS) - 1

CLOSE_JW = 0.94
SIMILAR_JW = 0.88

_DIGRAPHS = (
    ("ph", "f"),
    ("kh", "h"),
    ("gh", "g"),
    ("th", "t"),
    ("dh", "d"),
    ("ck", "k"),
    ("q", "k"),
    ("c", "k"),
    ("w", "v"),
    ("z", "s"),
    ("x", "ks"),
    ("j", "y"),
)


@lru_cache(maxsize=1 << 17)
def skeleton(name: str) -> str:
    """A transliteration-blind form of a normalized name: common digraphs folded, vowels and doubled letters dropped.

    Mohammed, Muhammad and Mohamad share "mhmd"; Youssef, Yusuf and Jusuf share "ysf".
    """
    out = []
    for word in name.split():
        for a, b in _DIGRAPHS:
            word = word.replace(a, b)
        consonants = [ch for ch in word if ch not in "aeiouy" or ch == word[0] == "y"]
        out.append(
            "".join(ch for i, ch in enumerate(consonants) if i == 0 or ch != consonants[i - 1])
        )
    return " ".join(out)


@lru_cache(maxsize=1 << 17)
def phonetic(name: str) -> str:
    """The metaphone code of a normalized name, word by word ("" for none): the blocking and "alternate" key."""
    return " ".join(jellyfish.metaphone(word) for word in name.split() if word.isascii())


@lru_cache(maxsize=1 << 17)
def _parts(name: str) -> frozenset[str]:
    return frozenset(name.split())


def _codes(values: Sequence[str], code: Callable[[str], str]) -> np.ndarray:
    """`code(value)` of each value (cached per value by `code`), as an array to compare."""
    return np.array(list(map(code, values)), dtype=object)


@lru_cache(maxsize=1 << 17)
def _first_word(name: str) -> str:
    return name.split(" ", 1)[0]


@lru_cache(maxsize=1 << 17)
def _letters(code: str) -> int:
    return len(code) - code.count(" ")


def _initials(names: Sequence[str]) -> np.ndarray:
    """The first letter of each name ("" for none), as an array (numpy cuts each string in C)."""
    return np.array(names, dtype="U1") if len(names) else np.zeros(0, dtype="U1")


def _has_space(names: Sequence[str]) -> np.ndarray:
    """Whether each name has several words."""
    return np.array([" " in name for name in names], dtype=bool)  # a list first: twice as fast


def _spelled_levels(
    left: Sequence[str], right: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The levels the spellings alone decide, and each side's length (0: missing).

    Exact (equal, or the same words in another order or once spaces go), close (Jaro-Winkler, or a
    strict subset of several words), similar (Jaro-Winkler or one edit), weak and different. The
    sounds, skeletons, nicknames and initials only ever lift "weak" or "different" to "alternate"
    or "initial" (`name_levels`): whether a pair is exact or close is decided here.
    """
    n = len(left)
    out = np.full(n, NAME_DIFFERENT, dtype=np.int8)
    jw = process.cpdist(left, right, scorer=JaroWinkler.normalized_similarity, workers=1)
    out[jw >= WEAK_JW] = 5
    edits = process.cpdist(left, right, scorer=Levenshtein.distance, workers=1)
    len_left = np.fromiter(map(len, left), dtype=np.int64, count=n)
    len_right = np.fromiter(map(len, right), dtype=np.int64, count=n)
    shortest = np.minimum(len_left, len_right)
    out[(jw >= SIMILAR_JW) | ((edits == 1) & (shortest >= 3))] = 2
    out[jw >= CLOSE_JW] = 1
    # Exact: equal, or equal once spaces go (hyphens are spaces after normalizing).
    same = np.array(left, dtype=object) == np.array(right, dtype=object)
    out[same] = 0
    # Several words: the same parts in another order is exact, a strict subset is close.
    spaced = _has_space(left) | _has_space(right)
    for i in np.flatnonzero(spaced & (out != 0)).tolist():
        x, y = left[i], right[i]
        if x.replace(" ", "") == y.replace(" ", "") or _parts(x) == _parts(y):
            out[i] = 0
        elif out[i] > 1 and (_parts(x) < _parts(y) or _parts(y) < _parts(x)):
            out[i] = 1
    return out, len_left, len_right


def close_names(left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    """Whether each pair's `name_levels` is exact or close (both names present), from the spellings
    alone: the test for names entered the wrong way round, which asks nothing more of a pair."""
    if not len(left):
        return np.zeros(0, dtype=bool)
    out, len_left, len_right = _spelled_levels(left, right)
    got: np.ndarray = (out <= 1) & (len_left > 0) & (len_right > 0)
    return got


def name_levels(left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    """The `NAME_LEVELS` index (int8, -1 for a missing side) of each pair of normalized names.

    Vectorized: rapidfuzz scores every pair in C (`_spelled_levels`), the sounds and skeletons
    are compared as arrays of per-name cached codes; only the pairs of several words (subsets,
    word order) and the few with a known nickname go through Python one by one.
    """
    if not len(left):
        return np.full(0, NAME_DIFFERENT, dtype=np.int8)
    out, len_left, len_right = _spelled_levels(left, right)
    # Below "similar": the same sound or skeleton, a nickname, an initial.
    loose = np.flatnonzero(out > 2)
    if len(loose):
        a = [left[i] for i in loose.tolist()]
        b = [right[i] for i in loose.tolist()]
        sound_a, sound_b = _codes(a, phonetic), _codes(b, phonetic)
        skel_a, skel_b = _codes(a, skeleton), _codes(b, skeleton)
        sound_len = np.fromiter(map(_letters, sound_a), dtype=np.int64, count=len(a))
        skel_len = np.fromiter(map(_letters, skel_a), dtype=np.int64, count=len(a))
        # A skeleton of one or two letters ("Li", "Lee"; "Yi", "Yee") counts only with the same
        # first letter: the vowels it drops are all such a short name has.
        same_start = _initials(a) == _initials(b)
        alternate = ((sound_a == sound_b) & (sound_len >= 2)) | (
            (skel_a == skel_b) & ((skel_len >= 3) | ((skel_len >= 1) & same_start))
        )
        first_a = list(map(_first_word, a))
        first_b = list(map(_first_word, b))
        # A third of given names have known nicknames: the pairs found in Python, set at once.
        known, none = NICKNAMES.get, frozenset[str]()
        alternate[[k for k, x in enumerate(first_a) if first_b[k] in known(x, none)]] = True
        alternate[
            [k for k, x in enumerate(a) if x in ROMANIZATIONS and is_romanization(x, b[k])]
        ] = True
        # A diminutive begins with the other name's stem (two letters at least): only names of the
        # same first letter can be one (most pairs of random names are not).
        for k in np.flatnonzero(~alternate & same_start).tolist():
            alternate[k] = is_diminutive(first_a[k], first_b[k])
        one = (len_left[loose] == 1) | (len_right[loose] == 1)
        initial = np.zeros(len(a), dtype=bool)
        for k in np.flatnonzero(one).tolist():
            initial[k] = a[k][:1] == b[k][:1]
        out[loose[initial]] = 4
        out[loose[alternate]] = 3
    out[(len_left == 0) | (len_right == 0)] = MISSING
    return out


@lru_cache(maxsize=1 << 18)
def name_level(a: str, b: str) -> int:
    """`name_levels` of one pair (remembered: the per-pair rules ask for the same pair twice, the
    name's outcome and then whether a lone slip is forgiven, and names repeat across rows)."""
    return int(name_levels([a], [b])[0])


_EPOCH = np.datetime64("0001-01-01", "D")


def ordinal_dates(ordinals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of each proleptic Gregorian ordinal (`date.toordinal`), as int64 arrays.

    Integer calendar arithmetic (H. Hinnant's `civil_from_days`), a few array operations with no
    Python call per date and four times faster than numpy's datetime64 casts; an ordinal below 1
    counts as 1 (1 January of year 1), as `date.fromordinal(1)`.
    """
    # Days counted from 1 March of year 0, so that a leap day ends its year.
    z = np.maximum(np.asarray(ordinals, dtype=np.int64), 1) + 305
    era = z // 146_097
    day_of_era = z - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    march_month = (5 * day_of_year + 2) // 153  # 0 for March ... 11 for February
    day = day_of_year - (153 * march_month + 2) // 5 + 1
    month = np.where(march_month < 10, march_month + 3, march_month - 9)
    year = year_of_era + era * 400 + (month <= 2)
    return year, month, day


def date_ordinals(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The ordinals of valid (year, month, day) columns: the inverse of `ordinal_dates`."""
    months = (np.asarray(year, dtype=np.int64) - 1970).astype("datetime64[Y]").astype(
        "datetime64[M]"
    ) + (np.asarray(month, dtype=np.int64) - 1).astype("timedelta64[M]")
    days = months.astype("datetime64[D]") + (np.asarray(day, dtype=np.int64) - 1).astype(
        "timedelta64[D]"
    )
    out: np.ndarray = (days - _EPOCH).astype(np.int64) + 1
    return out


# Each number below 10,000 in binary-coded decimal: four bits a digit.
_BCD = np.array([int(f"{v:04d}", 16) for v in range(10_000)], dtype=np.int64)


def _digit_changes(
    left: tuple[np.ndarray, np.ndarray, np.ndarray],
    right: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """How many of the eight digits of YYYYMMDD differ between two (year, month, day) columns.

    Each date in binary-coded decimal (one 4-bit group a digit); a digit differs where its group
    of the two dates' exclusive or holds any bit: fold each group onto its lowest bit and count.
    """

    def bcd(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (_BCD[np.minimum(year, 9999)] << 16) | _BCD[month * 100 + day]

    x = bcd(*left) ^ bcd(*right)
    x = (x | (x >> 1) | (x >> 2) | (x >> 3)) & 0x1111_1111
    return np.bitwise_count(x)


def dob_levels(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The `DOB_LEVELS` index (int8, -1 where either date is missing) of each pair of date ordinals (0: none)."""
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    out = np.full(len(left), DOB_DIFFERENT, dtype=np.int8)
    if not len(left):
        return out
    ly, lm, ld = ordinal_dates(left)
    ry, rm, rd = ordinal_dates(right)
    digits = _digit_changes((ly, lm, ld), (ry, rm, rd))
    out[digits == 2] = 5
    same = (ly == ry).astype(int) + (lm == rm) + (ld == rd)
    out[same == 2] = 4
    year_gap = np.abs(ly - ry)
    out[(lm == rm) & (ld == rd) & ((year_gap == 1) | (year_gap == 10))] = 3
    out[digits == 1] = 2
    out[(ly == ry) & (lm == rd) & (ld == rm) & (lm != ld)] = 1
    out[left == right] = 0
    out[(left <= 0) | (right <= 0)] = MISSING
    return out


def dob_level(a: date | None, b: date | None) -> int:
    """`dob_levels` of one pair of dates (None for none), in plain Python.

    The same tests in the same precedence (the last assignment of `dob_levels` wins): the rules
    call it once a row, where building arrays for one pair cost about 50 times the comparison.
    """
    if a is None or b is None:
        return MISSING
    if a == b:
        return 0
    if a.year == b.year and a.month == b.day and a.day == b.month and a.month != a.day:
        return 1
    x = a.year * 10_000 + a.month * 100 + a.day
    y = b.year * 10_000 + b.month * 100 + b.day
    digits = sum((x // 10**k) % 10 != (y // 10**k) % 10 for k in range(8))
    if digits == 1:
        return 2
    if a.month == b.month and a.day == b.day and abs(a.year - b.year) in (1, 10):
        return 3
    if (a.year == b.year) + (a.month == b.month) + (a.day == b.day) == 2:
        return 4
    return 5 if digits == 2 else DOB_DIFFERENT


def identifier_level(a: str, b: str) -> int:
    """The `IDENTIFIER_LEVELS` index of two identifiers of one kind (normalized), -1 if either is missing.

    One off: one digit changed, or two adjacent digits exchanged (one keying slip); two off: two
    such slips (Damerau-Levenshtein distance 2).
    """
    if not a or not b:
        return MISSING
    if a == b:
        return 0
    distance = DamerauLevenshtein.distance(a, b)
    return 1 if distance == 1 else (2 if distance == 2 else IDENTIFIER_DIFFERENT)
