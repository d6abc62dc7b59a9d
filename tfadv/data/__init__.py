"""tfadv.data."""
