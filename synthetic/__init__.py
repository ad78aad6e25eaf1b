"""Synthetic, reproducible verification data with ground-truth labels: tooling, not product.

A top-level package (DESIGN.md): it may import any app, and no app imports it. It is a Django
app only so that `generate_synthetic` and `demo_world` are found; `__init__` imports nothing, as
Django imports it before the app registry is ready. The entry points live in `synthetic.generate`:

    world = build(n_employers=200, n_cases=10_000, seed=7)        # numpy only, fast
    write_files(world, Path("var/synthetic"))                      # CSV files, labels included
    summary = load_world(world, workers=2)                         # COPY into the current database
    summary = generate_and_load(cases=1_000_000, employers=20_000, seed=1)   # both steps

The same seed (and `as_of` date, default today) gives the same data. Other benchmarks and the
cross-reference quality benchmark use `generate_and_load`, then join `labels.csv` (or
`labels_for(world)`) to `VerificationCase.employer_case_id`, and `enforcement_labels.csv` (or
`subject_labels_for(world)`) to `EnforcementSubject.subject_ref`.

Files written by `write_files` (and `manage.py generate_synthetic --out DIR`):
- employers.csv, sites.csv;
- ssa.csv, dhs.csv, enforcement.csv in the format of `manage.py load_reference`;
- cases.csv: the I-9 fields as typed (identifiers in clear: synthetic only), the creation time and
  the lifecycle state E-Verify would have reached;
- labels.csv: employer_case_id, employer_ein, label, detail (one row per case);
- employer_labels.csv: employer_ein, label, for the misbehaving employers;
- enforcement_labels.csv: subject_ref, kind (link, decoy, stranger), employer_case_id (a link's
  case: the true pairs), look_alike_of (a decoy's lawful case: a pair that must not link),
  variant (what the record gets wrong or lacks, "a+b" for two; empty: exact and complete),
  documents (the kind of its document: ssn, ssn_typo, a_number, passport, document_number or
  empty). Written by `synthetic.generate.write_files` and `manage.py generate_synthetic`.

Label vocabulary (column `label`), the finding a perfect cross-reference raises:
- ``none``: lawful. Includes benign name variants, named in `detail` (one kind a case; rates and
  their reasons in `synthetic.variants`): compound_reordered ("Lopez Garcia" for SSA's "Garcia
  Lopez"), compound_truncated ("Garcia"), compound_second_only ("Lopez"), compound_added ("Garcia
  Lopez" for SSA's "Garcia"), hyphen_space ("Garcia-Lopez"), diacritics (accents dropped),
  diacritics_added ("José" for SSA's "Jose"), upper_case, second_given_name ("Maria Jose" for
  "Maria"), goes_by_middle_name, nickname ("Bill" for "William", "Chuy" for "Jesús"),
  transliteration ("Muhammad" for "Mohammed", "Chang" for "Zhang", "Mueller" for "Müller"),
  given_family_swapped, name_typo (one key slip in a surname of 9+ letters), typo_given and
  typo_surname (one letter keyed wrong in a name of any length), stale_citizenship (a naturalized
  citizen whose SSA citizenship was never updated; DHS shows the naturalization). No finding:
  today's matcher still mismatches some of these (issue 17), which the benchmark counts per kind.
- ``clerical``: lawful, with a keying error, in `detail`: dob_day_month_swap, dob_one_digit (one
  of the date's digits keyed wrong) or ssn_transposition (two adjacent digits swapped). E-Verify
  would issue a TNC; only a low-severity "probable clerical error" finding, never a fraud lead.
- ``fraud:<kind>``:
  - ssn_reuse: one SSN (with its owner's true name) verified at 4-8 employers within 30 days;
  - multi_identity: one SSN presented with 2-3 different names/DOBs at different employers (the
    first case of the group is the owner and matches; all of the group carry the label);
  - deceased: the SSN's Numident record has a death date before the hire;
  - locked: the SSN is locked in Numident;
  - expired_authorization: a noncitizen whose DHS work authorization ended before the hire;
  - enforcement_hit: the worker is an enforcement subject, a link, whose record another agency
    typed: a third exact, the rest with a name error (typo, replaced, shortened, swapped), a date
    error (one digit, year +-1 or +-10, one component, day/month swap, year only, missing), or
    partial (surname and document, alias only, a document under another identity); about half
    carry a document (the SSN, perhaps one digit off, the A-Number, passport or List A number).
    The other subjects (one per 20 cases in all) are decoys (a tenth: look-alikes of lawful
    workers) and strangers drawn like workers, with the same gaps; none is any worker's exact
    name and date of birth. See `synthetic.subjects`.
- ``employer:<kind>`` (all cases of the kind sit at a few employers of that kind, listed in
  employer_labels.csv):
  - late_case: created 8+ calendar days (4+ federal working days) after the hire, with a late reason;
  - prescreening: created before the offer was accepted (a third closed as not_hired);
  - idle_tnc: a mismatch 25-120 days old with no notice and no decision, still open (its
    decision_due_on is left empty, so the deadline sweep leaves it for the cross-reference rule);
  - fnc_retained: final nonconfirmation closed as continues_after_fnc;
  - doc_type_share: an employer whose workers (about half of its cases) all present a
    Permanent Resident Card; the label marks those cases.
"""
