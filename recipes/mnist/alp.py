"""ALP, adversarial logit pairing (Kannan, Kurakin and Goodfellow 2018), on MNIST.

Half clean, half adversarial cross-entropy (label smoothing 0.1) plus 0.5 times the squared
distance between clean and adversarial logits. ALP's published robustness was broken
(Engstrom et al. 2018): trust only the worst-case report.

Everything else is the main job's (`recipes/mnist/default.py`): `compact_cnn`, PGD budget eps 0.3 /
10 steps / step 0.075 with a 4-epoch epsilon ramp, Adam 1e-3 with cosine decay, 15 epochs, batch
64, the epoch kept by validation PGD-10 accuracy, "quick" protocol on the test digits.

Command (from the repository root):

    tfadv train --config recipes/mnist/alp.py

Smoke run (one epoch on 128 digits; what CI runs):

    tfadv train --config recipes/mnist/alp.py --smoke

Run here only as a smoke test (the full run was not measured here: no numbers are claimed).

Reference: Kannan, Kurakin, Goodfellow, "Adversarial Logit Pairing", arXiv 1803.06373, 2018.
"""

from tfadv.experiment.schema import base_config, method_config


def get_config():
    config = base_config()  # the main job's values (recipes/mnist/default.py)
    config.workdir = "artifacts/mnist/alp"
    config.method = method_config("alp", lambda_=0.5, clean_weight=0.5, label_smoothing=0.1)
    return config
