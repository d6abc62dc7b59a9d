"""The `tfadv` command line."""
