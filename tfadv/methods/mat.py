"""Mixed l-inf / l2 adversarial training (MAT)."""

import keras
import tensorflow as tf
from keras import ops

from tfadv import backend
from tfadv.adv_model import AdvModel, per_example_ce
from tfadv.attacks import _ops
from tfadv.attacks.attack import Attack, AttackResult, model_logits
from tfadv.attacks.pgd import PGD
from tfadv.loss_result import LossResult
from tfadv.utils import validation
from tfadv.utils.registry import Knob

#: Salt of the per-example attack draw, so it is independent of the attacks' random starts.
_DRAW_SALT = 7919

STRATEGIES = ("rand", "max", "avg")


@keras.saving.register_keras_serializable(package="tfadv")
class MAT(AdvModel):
    """Mixed adversarial training against an l-inf and an l2 adversary at once.

    - `strategy="rand"` (MAT-Rand, Araujo et al.): each example is attacked by one of the two adversaries,
      drawn uniformly at random per example (the expectation in the paper's objective is per example).
      Both attacks run only on their own share of the batch, so one step costs one attack (on
      TensorFlow; JAX and PyTorch run both attacks on the whole batch, each example keeping its
      drawn one, and count both in `grad_evals`).
    - `strategy="max"` (MAT-Max; Tramer and Boneh's "MAX"): both attacks run on the whole batch and each
      example keeps the one with the larger cross-entropy.
    - `strategy="avg"` (Tramer and Boneh's default "AVG"): the loss averages over both adversarial batches
      (a mean over 2B examples).

    The epsilon schedule, when given, scales both attacks by the same factor (its value divided by the
    l-inf attack's eps).

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        linf_attack: the l-inf adversary. Defaults to `tfadv.attacks.PGD(eps=0.3, step_size=0.01,
            steps=10)` (Tramer and Boneh's MNIST config).
        l2_attack: the l2 adversary. Defaults to `tfadv.attacks.PGD(eps=2.0, step_size=0.1, steps=10,
            norm="l2")` (Tramer and Boneh's MNIST config).
        strategy: `"rand"`, `"max"` or `"avg"`. Defaults to `"rand"`.
        seed: optional int for the per-example draw of `"rand"`. Defaults to `None`.

    Example:

    ```python
    model = tfadv.methods.MAT(classifier, strategy="max")
    ```

    Reference:
        Tramer and Boneh, "Adversarial Training and Robustness for Multiple Perturbations", NeurIPS 2019;
        Araujo, Meunier, Pinot, Negrevergne, "Advocating for Multiple Defense Strategies against
        Adversarial Examples", ECML workshops 2020.
    """

    registry_name = "mat"
    extra_metrics = ("l2_share",)
    knobs = {
        # Not a constructor argument: `knob_arguments` turns it into the l2 attack's radius.
        "l2_eps": Knob(float, 2.0, "radius of the l2 attack", minimum=0.0),
        "strategy": Knob(str, help="rand | max | avg", choices=STRATEGIES),
    }
    #: The budget is MAT's l-inf attack; its l2 attack's radius is the `l2_eps` knob.
    norms = ("linf",)

    @classmethod
    def knob_arguments(cls, budget, values):
        l2_eps = cls.knobs["l2_eps"].check("l2_eps", values["l2_eps"])
        return {
            "linf_attack": budget.pgd(),
            "l2_attack": budget.pgd(eps=l2_eps, norm="l2"),
            "strategy": values["strategy"],
            "seed": budget.seed,
        }

    def __init__(
        self, classifier, linf_attack=None, l2_attack=None, *, strategy="rand", seed=None, **kwargs
    ):
        kwargs.pop("attack", None)
        if linf_attack is None:
            linf_attack = PGD(eps=0.3, step_size=0.01, steps=10)
        if l2_attack is None:
            l2_attack = PGD(eps=2.0, step_size=0.1, steps=10, norm="l2")
        for name, attack, norm in (
            ("linf_attack", linf_attack, "linf"),
            ("l2_attack", l2_attack, "l2"),
        ):
            if not isinstance(attack, Attack) or attack.norm != norm:
                raise ValueError(
                    f"`{name}` must be a tfadv attack with norm='{norm}'. Received: {name}={attack!r}"
                )
        self.strategy = validation.check_choice("strategy", strategy, STRATEGIES)
        self.seed = seed
        self.l2_attack = l2_attack
        super().__init__(classifier, linf_attack, **kwargs)

    @property
    def linf_attack(self):
        return self.attack

    def training_attacks(self):
        return [self.attack, self.l2_attack]

    def generate_adversarial(self, x, y, eps):
        ratio = eps / self.attack.eps if self.attack.eps > 0 else ops.convert_to_tensor(1.0)
        eps_2 = ratio * self.l2_attack.eps
        if self.strategy == "rand":
            draw = _ops.uniform(ops.shape(x)[:1], _ops.seed_key(self.seed, x, _DRAW_SALT))
            use_l2 = draw < 0.5
            if backend.name() == "tensorflow":
                return self._run_shares(x, y, use_l2, eps, eps_2)
            # JAX compiles the step for static shapes, so the batch is not split by the random
            # draw (nor on PyTorch, for one code path): both attacks run on the whole batch and
            # each example keeps its drawn one.
            inf_res = self.attack.run(self.classifier, x, y, eps=eps)
            l2_res = self.l2_attack.run(self.classifier, x, y, eps=eps_2)
            x_adv = _ops.select(use_l2, l2_res.x_adv, inf_res.x_adv)
            grad_evals = inf_res.info["grad_evals"] + l2_res.info["grad_evals"]
            info = {"grad_evals": grad_evals, "l2_share": ops.cast(use_l2, "float32")}
            return AttackResult(x_adv, inf_res.clean_logits, info)
        inf_res = self.attack.run(self.classifier, x, y, eps=eps)
        l2_res = self.l2_attack.run(self.classifier, x, y, eps=eps_2)
        grad_evals = inf_res.info["grad_evals"] + l2_res.info["grad_evals"]
        if self.strategy == "avg":
            info = {"grad_evals": grad_evals, "x_adv_l2": l2_res.x_adv}
            return AttackResult(inf_res.x_adv, inf_res.clean_logits, info)
        # "max": per example, the adversarial example with the larger cross-entropy.
        ce_inf = per_example_ce(self.attack.logits(self.classifier, inf_res.x_adv), y)
        ce_l2 = per_example_ce(self.attack.logits(self.classifier, l2_res.x_adv), y)
        use_l2 = ce_l2 > ce_inf
        x_adv = _ops.select(use_l2, l2_res.x_adv, inf_res.x_adv)
        info = {"grad_evals": grad_evals, "l2_share": ops.cast(use_l2, "float32")}
        return AttackResult(x_adv, inf_res.clean_logits, info)

    def _run_shares(self, x, y, use_l2, eps, eps_2):
        """TensorFlow's `"rand"`: each attack runs on its own share of the batch only."""
        parts = tf.dynamic_partition(tf.range(tf.shape(x)[0]), tf.cast(use_l2, tf.int32), 2)
        inf_res = self._run_share(self.attack, x, y, parts[0], eps)
        l2_res = self._run_share(self.l2_attack, x, y, parts[1], eps_2)
        x_adv, clean_logits, grad_evals = (
            tf.dynamic_stitch(parts, [a, b]) for a, b in zip(inf_res, l2_res, strict=True)
        )
        info = {"grad_evals": grad_evals, "l2_share": tf.cast(use_l2, tf.float32)}
        return AttackResult(x_adv, clean_logits, info)

    def _run_share(self, attack, x, y, index, eps):
        """`(x_adv, clean_logits, grad_evals)` of `attack` on the examples `index` of the batch.

        A share can be empty (a small per-replica batch under `tf.distribute`); the attack is then
        skipped rather than run on an empty batch, which some kernels reject (TensorFlow's CPU
        bfloat16 convolution gradient).
        """
        x_part, y_part = tf.gather(x, index), tf.gather(y, index)

        def run():
            result = attack.run(self.classifier, x_part, y_part, eps=eps)
            return result.x_adv, result.clean_logits, result.info["grad_evals"]

        def skip():  # a forward pass of the empty share gives logits of the right shape
            return x_part, model_logits(self.classifier, x_part), tf.zeros([0])

        return tf.cond(tf.size(index) > 0, run, skip)

    def compute_adv_loss(self, x, y, adv, sample_weight=None):
        if self.strategy != "avg":
            logits = self.classifier(adv.x_adv, training=True)
            loss = self.reduce_loss(per_example_ce(logits, y), sample_weight)
            return LossResult(loss, logits, extras={"l2_share": adv.info["l2_share"]})
        both = self.classifier(
            ops.concatenate([adv.x_adv, adv.info["x_adv_l2"]], axis=0), training=True
        )
        inf_logits, l2_logits = ops.split(both, 2, axis=0)
        per_example = 0.5 * (per_example_ce(inf_logits, y) + per_example_ce(l2_logits, y))
        loss = self.reduce_loss(per_example, sample_weight)
        return LossResult(loss, inf_logits, extras={"l2_share": ops.convert_to_tensor(0.5)})

    def get_config(self):
        config = super().get_config()
        config["linf_attack"] = config.pop("attack")
        config.update(
            l2_attack=keras.saving.serialize_keras_object(self.l2_attack),
            strategy=self.strategy,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("linf_attack", "l2_attack"):
            config[key] = keras.saving.deserialize_keras_object(
                config[key], custom_objects=custom_objects
            )
        return super().from_config(config, custom_objects)
