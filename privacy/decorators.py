"""View markers read by the access middleware (defined in `core.markers`, re-exported here)."""

from core.markers import personal_data

__all__ = ["personal_data"]
