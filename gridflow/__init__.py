"""gridflow: one stream, one case per real incident, escalated through four tiers of centres."""

__version__ = "0.1.0"
