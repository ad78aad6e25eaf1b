"""Name pools for synthetic people, and the lawful variants and keying errors applied to them."""

from __future__ import annotations

import unicodedata

HISPANIC_FIRST = ["María", "José", "Juan", "Luis", "Carlos", "Ana", "Sofía", "Alejandro", "Guadalupe", "Jesús", "Francisco", "Miguel", "Ángel", "Rosa", "Elena", "Javier", "Fernando", "Patricia", "Verónica", "Andrés", "Ramón", "Lucía", "Raúl", "Adriana", "Héctor", "Mónica", "Sergio", "Beatriz", "Martín", "Inés"]
ANGLO_FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Christopher", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony", "Margaret", "Mark", "Sandra", "Donald", "Ashley", "Steven", "Kimberly", "Paul", "Emily", "Andrew", "Donna", "Joshua", "Michelle", "Kenneth", "Dorothy", "Kevin", "Carol", "Brian", "Amanda"]
ARABIC_FIRST = ["Mohammed", "Ahmed", "Fatima", "Aisha", "Omar", "Ali", "Layla", "Yusuf", "Khalid", "Mariam", "Hassan", "Noor", "Ibrahim", "Zainab", "Samir", "Rania"]
ASIAN_FIRST = ["Wei", "Li", "Ming", "Hui", "Jun", "Anh", "Minh", "Thanh", "Linh", "Hoa", "Tuan", "Priya", "Rahul", "Ananya", "Arjun", "Deepika", "Sanjay", "Kavya"]
OTHER_FIRST = ["Olga", "Ivan", "Dmitri", "Chidi", "Amara", "Kwame", "Ngozi", "Jean-Luc", "Zoë", "Søren", "Björn", "Chloé", "Noël", "Renée", "Anaïs"]

HISPANIC_LAST = ["García", "López", "Martínez", "Rodríguez", "Hernández", "González", "Pérez", "Sánchez", "Ramírez", "Torres", "Flores", "Rivera", "Gómez", "Díaz", "Morales", "Reyes", "Cruz", "Ortiz", "Gutiérrez", "Chávez", "Ramos", "Ruiz", "Álvarez", "Mendoza", "Castillo", "Jiménez", "Vásquez", "Romero", "Herrera", "Medina", "Aguilar", "Vargas", "Castro", "Guzmán", "Fernández", "Muñoz", "Rojas", "Salazar", "Contreras", "Domínguez", "Villanueva", "Bustamante", "Montenegro", "Echeverría", "Valenzuela", "Santiago", "Carrillo", "Espinoza", "Figueroa"]
ANGLO_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Rogers", "Reed", "Cook", "Morgan", "Bell", "Murphy", "Bailey", "Cooper", "Richardson", "Howard", "Ward", "Peterson", "Gray", "Ramsey", "Watson", "Brooks", "Kelly", "Sanders", "Price", "O'Brien", "O'Connor", "McDonald", "Fitzgerald", "Christensen", "Richardson", "Henderson", "Washington", "Blackwell", "Montgomery", "Pemberton"]
ARABIC_LAST = ["Haddad", "Khalil", "Mansour", "Nasser", "Saleh", "Hamdan", "Farouk", "Aziz", "Rahman", "Qureshi", "Al-Hassan", "Al-Masri", "Al-Rashid", "Abdullah", "Bakr", "Darwish", "Haddadin", "Khoury", "Suleiman", "Youssef"]
ASIAN_LAST = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Kim", "Park", "Lee", "Choi", "Patel", "Shah", "Singh", "Kumar", "Sharma", "Gupta", "Reddy", "Iyer", "Nair", "Chatterjee"]
OTHER_LAST = ["Müller", "Schäfer", "Jørgensen", "Kowalski", "Nowak", "Ivanova", "Petrov", "Okafor", "Mensah", "Adeyemi", "Dubois", "Lefèvre", "Moreau", "Rossi", "Bianchi", "Esposito", "Novák", "Horváth", "Öztürk", "Yılmaz"]  # noqa: RUF001 - Turkish dotless i, on purpose
ENFORCEMENT_FIRST = ["Viktor", "Radu", "Emeka", "Tariq", "Sven", "Boris", "Anton", "Marek", "Dragan", "Lazar", "Nikolai", "Stefan"]
ENFORCEMENT_LAST = ["Kovalenko", "Draganov", "Obi", "Marchetti", "Lindqvist", "Volkov", "Petrescu", "Horvat", "Stanković", "Lazarev"]

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
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ø", "o").replace("ı", "i")  # noqa: RUF001 - Turkish dotless i, on purpose


def typo(value: str, position_seed: int) -> str:
    """One letter of a long name replaced by a neighbour on the keyboard row (a keying error)."""
    letters = [i for i, ch in enumerate(value) if ch.isalpha() and i > 1]
    if not letters:
        return value
    i = letters[position_seed % len(letters)]
    ch = value[i]
    repl = {"a": "s", "e": "r", "i": "o", "o": "p", "u": "y", "n": "m", "s": "z", "r": "t", "l": "k", "z": "s"}.get(ch.lower(), "e")
    if repl == ch.lower():
        repl = "a"
    return value[:i] + (repl.upper() if ch.isupper() else repl) + value[i + 1 :]
