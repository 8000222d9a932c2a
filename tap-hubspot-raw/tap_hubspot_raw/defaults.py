"""Defaults of the incremental windows and sweeps (shared by the settings and the streams)."""

DEFAULT_LOOKBACK_MINUTES = 35  # search may show a change up to 30 minutes late; 5 more for clock differences
DEFAULT_REFRESH_HOURS = 24.0
DEFAULT_ARCHIVED_SWEEP_HOURS = 6.0
