"""Every rule of the engine. Importing this package fills the registry (apps.py does it)."""

from crossref.rules import employer, enforcement, identity, identity_dhs, ssn  # noqa: F401
