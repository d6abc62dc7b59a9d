"""tfadv.export."""
