"""Export a trained `.keras` model for deployment: a thin wrapper around `tfadv export`.

    python export/export_model.py MODEL.keras --format onnx --out deploy/
    python export/export_model.py MODEL.keras --format saved_model --out serving/mnist

Same arguments as `tfadv export --help`; verifies parity by default and exits with 1 when it fails.
"""

import sys

from tfadv.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["export", *sys.argv[1:]]))
