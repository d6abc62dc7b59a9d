"""Under mixed precision the attacks' perturbation arithmetic stays float32 and the ball is exact."""

import _tiny
import keras
import numpy as np
import pytest

import tfadv

EPS = 0.1
ATTACKS = {
    "FGSM": lambda: tfadv.attacks.FGSM(eps=EPS),
    "PGD": lambda: tfadv.attacks.PGD(eps=EPS, step_size=0.04, steps=3, seed=0),
    "EarlyStoppedPGD": lambda: tfadv.attacks.EarlyStoppedPGD(
        eps=EPS, step_size=0.04, steps=3, tau=3, seed=0
    ),
    "APGD": lambda: tfadv.attacks.APGD(eps=EPS, steps=3, seed=0),
}


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_perturbation_is_float32_and_inside_the_ball(name, policy):
    keras.config.set_dtype_policy(policy)
    model = _tiny.classifier()
    x, y = _tiny.data(16)
    x_adv = np.asarray(ATTACKS[name]()(model, x, y))
    assert x_adv.dtype == np.float32
    delta = x_adv.astype(np.float64) - x.astype(np.float64)
    # Exact up to the float32 rounding of `x + delta` (half an ulp of 1.0); a half-precision
    # perturbation would miss by up to ~1e-3 (float16) or ~4e-3 (bfloat16).
    assert np.abs(delta).max() <= EPS + 2.0**-24
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert np.abs(delta).max() > 0.5 * EPS  # the attack moved
    # Values a half-precision computation could not produce: the arithmetic ran in float32.
    half = x_adv.astype(np.float16).astype(np.float32)
    assert np.mean(half != x_adv) > 0.5
