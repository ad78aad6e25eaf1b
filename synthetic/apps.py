from django.apps import AppConfig


class SyntheticConfig(AppConfig):
    """Development and benchmark tooling, not product: the synthetic world generator.

    An app only so that its management commands (`generate_synthetic`, `demo_world`) are found.
    It has no models and no receivers; it may import any app, and no app imports it.
    """

    name = "synthetic"
    verbose_name = "Synthetic data (development only)"
