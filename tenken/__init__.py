"""tenken — the annual plan inspection (点検), run end to end."""

__version__ = "0.1.0"
