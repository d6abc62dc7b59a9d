"""JSON round trips for tfadv's plain result objects (reports, sweeps, search spaces)."""

import json


class JsonMixin:
    """Adds `to_json` / `from_json` to a class with `to_dict` and a `from_dict` classmethod."""

    def to_json(self, path=None, indent=2):
        """Returns the object as a JSON string, and writes it to `path` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        return text

    @classmethod
    def from_json(cls, text_or_path):
        """Reads the object from a JSON string or from the path of a JSON file."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            with open(text, encoding="utf-8") as handle:
                text = handle.read()
        return cls.from_dict(json.loads(text))
