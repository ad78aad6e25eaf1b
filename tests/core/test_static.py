"""The static files collect under production's storage (a manifest of hashed names).

Production (`config.settings.production`) serves static files through WhiteNoise's manifest
storage, whose collectstatic rewrites every `url(...)` of every stylesheet to the file's hashed
name, and fails on a file a stylesheet names that is not there. The soak (production settings)
and every deploy run it. The manifest storage without compression checks the same references.
"""

from __future__ import annotations

from django.core.management import call_command
from django.test import override_settings


def test_collectstatic_with_production_s_manifest_storage_finds_every_file_a_stylesheet_names(
    tmp_path,
):
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    with override_settings(STATIC_ROOT=str(tmp_path), STORAGES=storages):
        call_command("collectstatic", "--noinput", "--verbosity", "0")
    css = (tmp_path / "vendor/uswds/css/uswds.min.css").read_text()
    assert "url(../img/hero" not in css
    assert (tmp_path / "staticfiles.json").exists()
