"""The vocabulary of access: the categories of data an agreement names, and the actions on them.

Its own module, below both the models (agreements store scopes in these terms) and the policy
(which reads the models), so that neither imports the other's half.
"""

from __future__ import annotations

from django.db import models


class DataCategory(models.TextChoices):
    SSA_IDENTITY = "ssa_identity", "SSA identity (Numident)"
    DHS_IMMIGRATION = "dhs_immigration", "DHS immigration status"
    ENFORCEMENT = "enforcement", "Enforcement subjects"
    VERIFICATION_CASES = "verification_cases", "Verification cases"
    EMPLOYER_DATA = "employer_data", "Employer data"
    INVESTIGATIONS = "investigations", "Flagged cases and investigations"


class Action(models.TextChoices):
    VIEW = "view", "View"
    SEARCH = "search", "Search"
    EXPORT = "export", "Export"
    CHANGE = "change", "Change"
    RUN_MATCHING = "run_matching", "Run matching"
    RECEIVE_HANDOFF = "receive_handoff", "Receive handoffs"
