"""Gaussian data augmentation: the base-classifier training of randomized smoothing."""

import keras
from keras import ops

from tfadv import backend
from tfadv.adv_model import AdvModel
from tfadv.attacks import _ops
from tfadv.attacks.attack import AttackResult, model_logits
from tfadv.utils import validation
from tfadv.utils.registry import Knob


@keras.saving.register_keras_serializable(package="tfadv")
class GaussianAugmentation(AdvModel):
    """Train on Gaussian-noised inputs, the base classifier of randomized smoothing.

    Each training batch is replaced by `x + sigma * N(0, I)` (not clipped to [0, 1], as in the
    reference code, so that the training distribution is the one the smoothed classifier queries)
    and the loss is the cross-entropy on it, in training mode. Train at the `sigma` you will
    certify with: `tfadv.certification.SmoothedClassifier(model.classifier, sigma)` then predicts
    and certifies an l2 radius with Cohen et al.'s Monte-Carlo procedure. With `sigma=0` this is
    plain training (tested).

    No attack runs: `grad_evals` is 0 and `adv_accuracy` is the accuracy on the noisy batch.
    `eps_schedule`, when given, is read as a schedule of the noise level (a noise warm-up): the
    standard deviation at a point of training is the schedule's value there, and `sigma` is then
    unused. Validation (`evaluate`) reports clean accuracy, and `adv_accuracy` under
    `eval_attack` when one is given (an empirical number; certified numbers come from
    `tfadv.certification`).

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        sigma: float >= 0, the noise standard deviation (in [0, 1] pixel units). Defaults to
            `0.25` (the smallest of the paper's three levels, 0.25, 0.5 and 1.0).
        seed: optional int for reproducible noise (it is folded with each batch's contents and
            the step counter). Defaults to `None`.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Keyword Args:
        eps_schedule: optional `tfadv.schedules.Schedule` of the noise level per epoch. Defaults
            to `None` (constant `sigma`).
        eval_attack: optional attack whose accuracy validation reports (an empirical number).
            Defaults to `None`.

    Example:

    ```python
    model = tfadv.methods.GaussianAugmentation(tfadv.models.small_cnn(), sigma=0.5)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    model.fit(x_train, y_train, batch_size=256, epochs=5)
    smoothed = tfadv.certification.SmoothedClassifier(model.classifier, sigma=0.5)
    report = smoothed.evaluate(x_test[:100], y_test[:100], n=1000)
    print(report)
    ```

    Reference:
        Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing",
        ICML 2019.
    """

    registry_name = "gaussian_augmentation"
    knobs = {
        "sigma": Knob(
            float, help="noise standard deviation (certify at the same sigma)", minimum=0.0
        )
    }

    @classmethod
    def knob_arguments(cls, budget, values):
        return {"sigma": values["sigma"], "seed": budget.seed}

    def training_attacks(self):
        """None: the training examples are noisy copies, not attacks (no budget applies)."""
        return []

    def __init__(self, classifier, sigma=0.25, *, seed=None, **kwargs):
        if "attack" in kwargs:
            raise ValueError(
                "GaussianAugmentation trains on Gaussian noise, not on an attack; use "
                f"`eval_attack` for validation. Received: attack={kwargs['attack']!r}"
            )
        self.sigma = validation.check_number("sigma", sigma, minimum=0.0)
        if seed is not None:
            seed = validation.check_number("seed", seed, minimum=0, integer=True)
        self.seed = seed
        super().__init__(classifier, **kwargs)

    def current_sigma(self):
        """The noise standard deviation now (a float32 scalar tensor)."""
        if self.eps_schedule is None:
            return ops.convert_to_tensor(self.sigma, "float32")
        return ops.maximum(ops.cast(self.eps_schedule(self.epoch_progress), "float32"), 0.0)

    def current_eps(self):
        return self.current_sigma()

    def generate_adversarial(self, x, y, eps):
        """Returns `x + eps * N(0, I)` (`eps` is `current_sigma()` in `train_step`)."""
        noise = _ops.normal(ops.shape(x), _ops.seed_key(self.seed, x, self._step_salt()))
        noisy = x + ops.cast(eps, "float32") * noise
        clean_logits = ops.stop_gradient(model_logits(self.classifier, x))
        return AttackResult(noisy, clean_logits, {"grad_evals": ops.zeros(ops.shape(x)[:1])})

    def _step_salt(self):
        """A counter of the training steps (int32), folded into a seeded noise key.

        TensorFlow reads the optimizer's `iterations`. JAX's stateless step holds the optimizer's
        variables outside the model's state, so JAX and PyTorch count the batches `fit` ran,
        `epoch * 2**20 + batch` from the model's own progress counter.
        """
        if backend.name() == "tensorflow":
            return ops.cast(ops.mod(self.optimizer.iterations, 2**30), "int32")
        state = ops.convert_to_tensor(self.progress_state)
        return ops.cast(ops.mod(state[0] * 2**20 + state[2], 2**30), "int32")

    def get_config(self):
        config = super().get_config()
        config.pop("attack")
        config.update(sigma=self.sigma, seed=self.seed)
        return config
