"""Export for deployment: SavedModel and ONNX, with a parity check.

`to_saved_model` writes a TF-Serving-style versioned folder, `to_onnx` an ONNX file (through
tf2onnx); both serve `images` (float32 in [0, 1]) -> `logits`, `probabilities` (float32) from the
classifier alone (no attack code), in inference mode. `verify` proves an exported file is the same
model: logit difference, argmax agreement, and robustness parity under an attack crafted on the
Keras model.
"""

from tfadv.export.onnx import to_onnx
from tfadv.export.parity_report import ParityReport
from tfadv.export.saved_model import to_saved_model
from tfadv.export.verify import verify

__all__ = ["ParityReport", "to_onnx", "to_saved_model", "verify"]
