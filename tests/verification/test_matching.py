from datetime import date

import pytest

from verification import comparison, matching
from verification.matching import Identity


@pytest.mark.parametrize(
    ("submitted", "reference", "hint"),
    [
        ("Garcia Lopez", "Garcia Lopez", ""),
        ("GARCIA LOPEZ", "Garcia Lopez", "case_diacritics_punctuation"),
        ("García López", "Garcia Lopez", "case_diacritics_punctuation"),
        ("O'Brien", "OBrien", "case_diacritics_punctuation"),
        ("Garcia-Lopez", "Garcia Lopez", "case_diacritics_punctuation"),
        ("GarciaLopez", "Garcia Lopez", "hyphen_space"),
        ("Lopez Garcia", "Garcia Lopez", "compound_reordered"),
        ("Garcia", "Garcia Lopez", "compound_part_missing"),
        ("Lopez", "Garcia Lopez", "compound_part_missing"),
        ("De la Cruz Ramos", "Ramos Cruz", "compound_reordered"),
        ("Al-Hassan", "Hassan", "particle"),
        ("bin Rashid Al Maktoum", "Maktoum", "compound_part_missing"),
        ("Nguyễn", "Nguyen", "case_diacritics_punctuation"),
        ("Müller", "Muller", "case_diacritics_punctuation"),
        ("Søren", "Soren", "case_diacritics_punctuation"),
        ("Rodriguez", "Rodriquez", "spelling"),
    ],
)
def test_lawful_surname_variants_are_not_mismatched(submitted, reference, hint):
    result = matching.compare_surname(submitted, reference)
    assert not result.disagrees
    assert result.outcome in (matching.MATCH, matching.VARIANT)
    assert result.hint == hint


def test_a_different_surname_is_a_mismatch_with_a_low_score():
    result = matching.compare_surname("Smith", "Garcia Lopez")
    assert result.outcome == matching.MISMATCH
    assert result.score < 50


def test_a_maiden_name_given_as_other_last_name_is_a_variant():
    result = matching.compare_surname("Johnson", "Garcia", submitted_other="Garcia")
    assert result.outcome == matching.VARIANT
    assert result.hint == "other_last_name"


def test_a_transliteration_is_a_near_match_for_review():
    result = matching.compare_surname("Mohammed", "Muhammad")
    assert result.outcome in (matching.NEAR, matching.VARIANT)
    assert not result.disagrees


@pytest.mark.parametrize(
    ("submitted", "reference", "middle", "hint"),
    [
        ("Maria Jose", "Maria", "", "second_given_name"),
        ("Maria", "Maria Jose", "", "second_given_name"),
        ("Bill", "William", "", "nickname"),
        ("Ann", "Mary", "Ann", "goes_by_middle_name"),
        ("JOSÉ", "Jose", "", "case_diacritics_punctuation"),
        ("Jean-Luc", "Jean Luc", "", "case_diacritics_punctuation"),
    ],
)
def test_lawful_given_name_variants_are_not_mismatched(submitted, reference, middle, hint):
    result = matching.compare_given_name(submitted, reference, reference_middle=middle)
    assert not result.disagrees
    assert result.hint == hint


def test_given_and_family_names_in_the_other_order_are_a_variant():
    results = matching.compare_identity(
        Identity("Wei", "Li", date(1988, 7, 1)), Identity("Li", "Wei", date(1988, 7, 1))
    )
    assert [r.outcome for r in results] == [matching.VARIANT, matching.VARIANT, matching.MATCH]
    assert results[0].hint == "given_family_swapped"


BORN = date(1988, 7, 1)


@pytest.mark.parametrize(
    ("submitted", "reference"),
    [
        (Identity("Joshuq", "Jones", BORN), Identity("Joshua", "Jones", BORN)),  # a key slip
        (Identity("Fergando", "Morales", BORN), Identity("Fernando", "Morales", BORN)),
        (Identity("Donald", "Brkoks", BORN), Identity("Donald", "Brooks", BORN)),
        (Identity("Khaled", "Nasser", BORN), Identity("Khalid", "Nasser", BORN)),  # transliteration
        (Identity("Yousif", "Haddad", BORN), Identity("Yusuf", "Haddad", BORN)),
        (Identity("Ana", "Guzmág", BORN), Identity("Ana", "Guzmán", BORN)),
    ],
)
def test_one_near_name_is_a_variant_when_the_rest_of_the_identity_agrees(submitted, reference):
    """Found by its SSN, the same date of birth and the other name agreeing: a lawful record."""
    results = matching.compare_identity(submitted, reference)
    assert [r.outcome for r in results] == [
        r.outcome if r.outcome == matching.MATCH else matching.VARIANT for r in results
    ]
    assert matching.VARIANT in [r.outcome for r in results]
    assert matching.worst(results) == matching.VARIANT


@pytest.mark.parametrize(
    ("submitted", "reference", "expected"),
    [
        # The date of birth differs: the near name stays for review (and the date is a mismatch).
        (
            Identity("Joshuq", "Jones", date(1988, 7, 2)),
            Identity("Joshua", "Jones", BORN),
            matching.NEAR,
        ),
        # Both names only near: review.
        (Identity("Joshuq", "Jomes", BORN), Identity("Joshua", "Jones", BORN), matching.NEAR),
        # An initial is not a spelling.
        (Identity("J", "Jones", BORN), Identity("Joshua", "Jones", BORN), matching.NEAR),
        # A different given name is still a mismatch, whatever else agrees.
        (Identity("Michael", "Jones", BORN), Identity("Joshua", "Jones", BORN), matching.MISMATCH),
    ],
)
def test_a_near_name_is_not_forgiven_without_the_rest_of_the_identity(
    submitted, reference, expected
):
    results = matching.compare_identity(submitted, reference)
    names = {r.field: r.outcome for r in results}
    assert expected in (names["first_name"], names["last_name"])


def test_a_day_month_swap_is_a_mismatch_with_its_hint():
    result = matching.compare_dob(date(1990, 4, 12), date(1990, 12, 4))
    assert result.outcome == matching.MISMATCH
    assert result.hint == "dob_day_month_swap"


def test_ssn_transpositions_swap_adjacent_digits_once():
    variants = matching.ssn_transpositions("123456789")
    assert "213456789" in variants
    assert "123456798" in variants
    assert len(variants) == 8
    assert matching.ssn_transpositions("111111111") == []


def test_name_key_ignores_order_and_particles():
    assert matching.name_key("de la Cruz Ramos") == matching.name_key("Ramos-Cruz")


@pytest.mark.parametrize(
    ("field", "submitted", "reference"),
    [
        ("last", "Youssef", "Yusuf"),  # a transliteration the nickname list does not know
        ("last", "Chaudhry", "Choudhury"),
        ("last", "Tchaikovsky", "Chaykovskiy"),
        ("first", "Aleksandr", "Alexander"),
        ("first", "Sergey", "Sergei"),
        ("first", "J", "Jorge"),  # an initial
        ("first", "Lee", "Li"),  # a short transliteration
        ("first", "Weu", "Wei"),  # a slip in a three-letter name
        ("first", "Checo", "Sergio"),  # a Spanish hypocorism
        ("first", "Vanya", "Ivan"),  # a Russian one
        ("first", "Sandy", "Sandra"),  # from the nicknames package's table
        ("last", "Wojciechowski", "Wojciehowsky"),  # two slips in a long name
    ],
)
def test_other_spellings_of_the_same_name_go_to_review_not_to_a_mismatch(
    field, submitted, reference
):
    """The identity rules judge names on the linkage model's scale (verification.comparison):
    a lawful worker's transliteration or initial is a variant or a review, never a TNC."""
    compare = matching.compare_surname if field == "last" else matching.compare_given_name
    result = compare(submitted, reference)
    assert result.outcome in (matching.VARIANT, matching.NEAR), (submitted, reference)
    assert not result.disagrees


@pytest.mark.parametrize(
    ("submitted", "reference"), [("Smith", "Garcia"), ("Nguyen", "Okafor"), ("Olga", "Maria")]
)
def test_a_different_name_is_still_a_mismatch(submitted, reference):
    assert matching.compare_surname(submitted, reference).outcome == matching.MISMATCH


@pytest.mark.parametrize(
    ("submitted", "reference"),
    [
        ("Ng", "Wu"),
        ("Chow", "Zhou"),
        ("Cheung", "Zhang"),
        ("Wong", "Huang"),
        ("Hsieh", "Xie"),
        ("Choy", "Choi"),
        ("Rhee", "Lee"),
    ],
)
def test_another_romanization_of_a_chinese_surname_is_a_variant(submitted, reference):
    result = matching.compare_surname(submitted, reference)
    assert (result.outcome, result.hint) == (matching.VARIANT, "romanization")


@pytest.mark.parametrize(
    ("submitted", "reference"), [("Wang", "Zhang"), ("Lin", "Li"), ("Ng", "Li")]
)
def test_different_chinese_surnames_are_not_romanizations_of_each_other(submitted, reference):
    assert matching.compare_surname(submitted, reference).outcome != matching.VARIANT


@pytest.mark.parametrize(
    ("submitted", "reference"),
    [
        ("Anita", "Ana"),
        ("Juanito", "Juan"),
        ("Carlitos", "Carlos"),
        ("Moncho", "Ramón"),
        ("Nando", "Fernando"),
    ],
)
def test_spanish_diminutives_and_hypocorisms_are_the_same_given_name(submitted, reference):
    assert matching.compare_given_name(submitted, reference).outcome == matching.VARIANT


@pytest.mark.parametrize(
    ("submitted", "reference"), [("Lita", "Li"), ("Maria", "Mario"), ("Anna", "Ana")]
)
def test_a_diminutive_needs_a_real_stem(submitted, reference):
    assert not comparison.is_diminutive(submitted.lower(), reference.lower())


def test_a_romanized_given_syllable_is_the_same_given_name():
    assert matching.compare_given_name("Lee", "Li").outcome == matching.VARIANT


def test_normalize_name_of_plain_ascii_is_the_character_loop():
    # The ASCII shortcut against the general path, on every pair of ASCII characters and on names
    # with the punctuation forms carry (apostrophes, hyphens, periods, commas, tabs).
    ascii_chars = [chr(c) for c in range(128)]
    samples = [a + b for a in ascii_chars for b in ascii_chars] + [
        "O'Brien-Smith",
        "  de la  Cruz,\tJr. ",
        "Mc`Donald",
        "ANNE-MARIE  St. John",
        "X Æ A-12",  # not ASCII: the general path itself
    ]
    for value in samples:
        expected = matching._normalize_unicode(value.translate(matching._TRANSLATE))
        assert matching.normalize_name(value) == expected, repr(value)


def test_a_diminutive_shares_the_first_letter_so_name_levels_asks_only_those():
    """`name_levels` asks `is_diminutive` only of names with the same first letter: never one less."""
    stems = ["ana", "juan", "carlos", "pedro", "maria", "jose", "lucia", "ines", "al", "bo"]
    names = stems + [
        s + end
        for s in ("an", "juan", "carl", "pedr", "mari", "jos")
        for end in comparison._DIMINUTIVE
    ]
    pairs = [(a, b) for a in names for b in names]
    found = [(a, b) for a, b in pairs if comparison.is_diminutive(a, b)]
    assert ("carlos", "carlitos") in found
    assert ("ana", "anita") in found
    assert all(a[:1] == b[:1] for a, b in found)
    left, right = zip(*pairs, strict=True)
    levels = comparison.name_levels(list(left), list(right))
    for (a, b), level in zip(pairs, levels.tolist(), strict=True):
        if (a, b) in found:
            assert level <= 3, (a, b)  # a diminutive is at least the same name in another form
