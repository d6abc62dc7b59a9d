"""Internal helpers shared across tfadv."""
