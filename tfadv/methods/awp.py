"""AWP: adversarial weight perturbation around any adversarial-training method."""

import keras
from keras import ops

from tfadv import backend
from tfadv._training import replicas
from tfadv.adv_model import METHODS, AdvModel
from tfadv.utils import validation
from tfadv.utils.registry import Knob

#: AWP's gamma per wrapped method in the reference scripts (AT-AWP 0.01, TRADES-AWP 0.005).
DEFAULT_GAMMA = {"pgdat": 0.01}
FALLBACK_GAMMA = 0.005
_EPS = 1e-20


def weight_perturbation(variables, grads):
    """AWP's layer-wise ascent direction: `||w_l|| / (||g_l|| + 1e-20) * g_l` per kernel.

    `AWP.compute_gradients` passes the trainable weights only, so frozen layers
    (`trainable=False`) are neither perturbed nor updated. Only weights with more than one dimension
    (kernels) are perturbed; biases, batch-norm scales and offsets, and weights without a gradient
    get `None`. A non-finite direction (a loss-scale
    overflow under mixed precision) becomes zero. Returns one tensor or `None` per variable.
    """
    directions = []
    for variable, grad in zip(variables, grads, strict=True):
        if grad is None or len(variable.shape) <= 1:
            directions.append(None)
            continue
        grad = ops.cast(grad, "float32")
        weight = ops.cast(ops.convert_to_tensor(variable), "float32")
        direction = _norm(weight) / (_norm(grad) + _EPS) * grad
        finite = ops.all(ops.isfinite(direction))
        directions.append(ops.where(finite, direction, ops.zeros_like(direction)))
    return directions


def _norm(tensor):
    return ops.sqrt(ops.sum(ops.square(tensor)))


@keras.saving.register_keras_serializable(package="tfadv")
class AWP(AdvModel):
    """Adversarial weight perturbation: train the wrapped method at adversarially perturbed weights.

    Each step crafts the adversarial examples as the wrapped method does, then computes the
    gradient of the method's loss with respect to the weights; every kernel (weights of more than
    one dimension) is moved by `gamma * ||w_l|| * g_l / ||g_l||`, the ascent direction rescaled to
    the layer's own norm; the method's loss and its gradient are computed at the perturbed weights,
    and the optimizer applies that gradient to the unperturbed weights. Biases and batch-norm
    parameters are not perturbed. The reference takes one SGD step on a proxy copy of the model
    and rescales the difference; for plain SGD that difference is the gradient itself, so the
    proxy's learning rate cancels and no copy is needed here.

    The perturbed forward pass never writes the weights: it runs in a `keras.StatelessScope`
    mapping each kernel to its perturbed value, so the model is never left perturbed. The ascent
    pass's state updates (batch-norm moving statistics, dropout seeds) are discarded, as the
    reference discards its proxy's; the second pass's are applied. Under `tf.distribute` the
    ascent gradient is summed over replicas, so all replicas share one perturbation (the
    reference computes it on the whole batch). With `gamma=0`, or before `warmup_epochs`, AWP
    takes exactly the wrapped method's step (tested); the ascent pass still runs.

    `AWP` shares the wrapped method's classifier, attack, epsilon schedule and `eval_attack`, and
    reports its metrics. It saves and loads as one `.keras` file with the method nested in its
    config.

    AWP trains on every Keras backend: both passes are functional gradients with respect to the
    weights' values (`tfadv.backend.gradients_at`), evaluated without writing the weights.

    Args:
        method: a `tfadv.AdvModel` (e.g. `tfadv.methods.TRADES`, `tfadv.methods.PGDAT`,
            `tfadv.methods.MART`) whose `generate_adversarial` and `compute_adv_loss` AWP calls.
        gamma: float >= 0, the relative size of the weight perturbation. Defaults to `None`: the
            reference value for the method, `0.01` for `PGDAT` (AT-AWP) and `0.005` otherwise
            (TRADES-AWP).
        warmup_epochs: int >= 0, epochs of plain training before AWP starts (0-based: AWP is on
            when the epoch progress is >= `warmup_epochs`). Defaults to `0` (AT-AWP; the
            TRADES-AWP script starts at its 1-based epoch 10, i.e. `warmup_epochs=9`).
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:

    ```python
    trades = tfadv.methods.TRADES(tfadv.models.small_cnn(), beta=6.0)
    model = tfadv.methods.AWP(trades, gamma=5e-3)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    model.fit(x_train, y_train, epochs=10)
    ```

    Reference:
        Wu, Xia, Wang, "Adversarial Weight Perturbation Helps Robust Generalization", NeurIPS 2020.
    """

    registry_name = "awp"
    knobs = {
        # `inner` and `beta` are not constructor arguments: `from_knobs` builds the wrapped method.
        "inner": Knob(
            str,
            "trades",
            "the wrapped method (AT-AWP, TRADES-AWP or MART-AWP)",
            choices=("pgdat", "trades", "mart"),
        ),
        "gamma": Knob(
            float,
            help="relative weight-perturbation size (unset: 0.01 with pgdat, 0.005 otherwise)",
            minimum=0.0,
        ),
        "warmup_epochs": Knob(int, help="epochs of plain training before AWP starts", minimum=0),
        "beta": Knob(
            float,
            None,
            "the wrapped TRADES' or MART's beta (None: its own default; pgdat has none)",
            minimum=0.0,
        ),
    }

    @classmethod
    def from_knobs(
        cls, classifier, *, budget=None, eps_schedule=None, eval_attack=None, **knob_values
    ):
        """Builds `inner` from its own knob defaults (and `beta`) at `budget`, then wraps it (see
        `tfadv.AdvModel.from_knobs`)."""
        values = cls.resolve_knobs(knob_values)
        name = cls.knobs["inner"].check("inner", values.pop("inner"))
        beta = cls.knobs["beta"].check("beta", values.pop("beta"))
        if beta is not None and name == "pgdat":
            raise ValueError(
                f"`beta` weighs TRADES' or MART's regulariser; pgdat has none. Received: beta={beta}"
            )
        inner = METHODS.get(name).from_knobs(
            classifier,
            budget=budget,
            eps_schedule=eps_schedule,
            eval_attack=eval_attack,
            **({} if beta is None else {"beta": beta}),
        )
        return cls(inner, **values)

    def __init__(self, method, *, gamma=None, warmup_epochs=0, **kwargs):
        if not isinstance(method, AdvModel) or isinstance(method, AWP):
            raise TypeError(
                "`method` must be a tfadv.AdvModel other than AWP (e.g. tfadv.methods.TRADES). "
                f"Received: method={method!r}"
            )
        for key in ("classifier", "attack", "eps_schedule", "eval_attack"):
            if key in kwargs:
                raise ValueError(
                    f"AWP takes `{key}` from the wrapped method; set it there. "
                    f"Received: {key}={kwargs[key]!r}"
                )
        if gamma is None:
            gamma = DEFAULT_GAMMA.get(method.registry_name, FALLBACK_GAMMA)
        self.gamma = validation.check_number("gamma", gamma, minimum=0.0)
        self.warmup_epochs = validation.check_number(
            "warmup_epochs", warmup_epochs, minimum=0, integer=True
        )
        self.extra_metrics = tuple(method.extra_metrics)
        self.builder_options = dict(method.builder_options)
        super().__init__(
            method.classifier,
            method.attack,
            eps_schedule=method.eps_schedule,
            eval_attack=method.eval_attack,
            **kwargs,
        )
        self.method = method

    def training_attacks(self):
        return self.method.training_attacks()

    # ------------------------------------------------------------------------------------ the hooks
    def generate_adversarial(self, x, y, eps):
        # The wrapped method reads its own epoch progress (FAT's tau, GAIRAT's lambda schedules):
        # copied inside the compiled step, after `train_step` advanced AWP's.
        self.method.epoch_progress.assign(self.epoch_progress)
        return self.method.generate_adversarial(x, y, eps)

    def compute_adv_loss(self, x, y, adv, sample_weight=None):
        return self.method.compute_adv_loss(x, y, adv, sample_weight)

    def compute_gradients(self, x, y, adv, sample_weight=None):
        variables = self.trainable_weights  # frozen layers are not perturbed
        current = [ops.convert_to_tensor(v.value) for v in variables]

        # 1. The ascent direction at the current weights; the pass's state updates are dropped.
        def ascent():
            loss = self.compute_adv_loss(x, y, adv, sample_weight).loss
            return self.optimizer.scale_loss(loss / replicas()), None

        _, ascent_grads = backend.gradients_at(ascent, variables, current, keep_state=False)
        # Under tf.distribute every replica takes the same step: the gradient of the whole batch.
        directions = weight_perturbation(variables, backend.sum_over_replicas(ascent_grads))

        # 2. The loss and its gradient at the perturbed weights; this pass's state updates stay.
        active = ops.cast(self.epoch_progress >= float(self.warmup_epochs), "float32")
        coefficient = self.gamma * active
        points = [
            value if d is None else value + ops.cast(coefficient * d, value.dtype)
            for value, d in zip(current, directions, strict=True)
        ]

        def perturbed():
            result, loss = self.total_loss(x, y, adv, sample_weight)  # with regularisation
            return self.optimizer.scale_loss(loss / replicas()), result

        return backend.gradients_at(
            perturbed, variables, points, state_variables=self.non_trainable_variables
        )

    # ----------------------------------------------------------------------------- serialisation
    def get_config(self):
        config = super().get_config()
        for key in ("attack", "eps_schedule", "eval_attack"):
            config.pop(key)
        inner = self.method.get_config()
        inner.pop("classifier")
        config["method"] = {
            "class_name": keras.saving.get_registered_name(type(self.method)),
            "config": inner,
        }
        config.update(gamma=self.gamma, warmup_epochs=self.warmup_epochs)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        method = config.pop("method")
        inner_cls = keras.saving.get_registered_object(
            method["class_name"], custom_objects=custom_objects
        )
        inner_config = {**method["config"], "classifier": config.pop("classifier")}
        return cls(inner_cls.from_config(inner_config, custom_objects), **config)
