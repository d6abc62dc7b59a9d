"""`AdvHyperModel`: a Keras Tuner hypermodel that builds and robustly validates `AdvModel`s."""

import keras
import keras_tuner

from tfadv.tuning.objective import WeightedAccuracy, check_clean_weight, get_objective
from tfadv.tuning.search_space import SearchSpace, model_builder
from tfadv.utils import validation


class _SaveLastEpoch(keras.callbacks.Callback):
    """Saves the weights at the end of every epoch (the trial's checkpoint with `"last"`)."""

    def __init__(self, filepath):
        super().__init__()
        self.filepath = filepath

    def on_epoch_end(self, epoch, logs=None):
        self.model.save_weights(self.filepath)


class AdvHyperModel(keras_tuner.HyperModel):
    """Builds an adversarially trained classifier from a `SearchSpace`, scored by robust accuracy.

    `build(hp)` reads one trial's knobs (training `eps`, `learning_rate`, model `width` / `depth`,
    `noise_stddev`, `pni` and the method's own knobs) and returns a compiled `tfadv.AdvModel`
    subclass: the method named by the space, built by its registry entry
    (`tfadv.methods.get(method).from_knobs`) around the space's `tfadv.models` builder, trained
    with an `attack_steps`-step attack at the trial's `eps` (`tfadv.AttackBudget`: each method
    picks its own attack from it), reached through a `tfadv.schedules.LinearRamp` warm-up over
    `ramp_epochs`, and Adam at the trial's learning rate. Step sizes are `2.5 * eps /
    attack_steps` (Madry et al.).

    `fit(hp, model, ...)` adds a `tfadv.evaluation.RobustEvaluation` callback (and a
    `tfadv.tuning.WeightedAccuracy` one when `objective_clean_weight > 0`) in front of the tuner's
    callbacks, so that the objective (`self.objective`) is in every epoch's logs. The validation
    data goes to that callback: clean and robust accuracy are measured on the same examples,
    under `eval_protocol` at the fixed radius `eval_eps` (the attacker's radius, the same for every
    trial, whatever the trial's training `eps`); Keras' own validation pass is skipped, so
    `val_loss` is not logged.

    Use it with `tfadv.tuning.make_tuner` or `tfadv.tuning.search` (or any Keras Tuner tuner, with
    `objective=hypermodel.objective`; under TensorFlow 2.21 without the `tensorboard` package, Keras
    Tuner 1.4's own tuner classes fail every trial on `import tensorboard`, which `make_tuner`'s
    classes avoid).

    With `seed` set, every trial starts from the same random initialisation
    (`keras.utils.set_random_seed(seed)` before building), so trials differ by their knobs only.

    Threat model: l-inf, images in [0, 1], integer labels; the built classifier returns logits.

    Args:
        space: a `tfadv.tuning.SearchSpace` or its config dict. Defaults to `None`
            (`SearchSpace()`: PGD-AT of `compact_cnn` with every knob at its default).
        input_shape: the per-example image shape. Defaults to `(28, 28, 1)`.
        num_classes: int, the number of classes. Defaults to `10`.
        attack_steps: int >= 1, steps of the training attack. Defaults to `10`.
        ramp_epochs: float >= 0, epochs of the linear epsilon warm-up from 0 (0 for none).
            Defaults to `1.0`.
        eval_eps: float >= 0, the radius of the validation attack. Defaults to `0.3`.
        eval_protocol: the validation protocol: a name (`"quick"`, `"standard"`), a
            `tfadv.evaluation.Protocol` or a list of `tfadv.attacks.Attack`. Defaults to `"quick"`
            (PGD-20 and APGD-CE).
        eval_limit: optional int, validate on the first `eval_limit` examples only. Defaults to
            `None`.
        eval_batch_size: int >= 1. Defaults to `256`.
        eval_eot_iter: int >= 1, EOT samples when the model is randomised (noise injection,
            PNI). Defaults to `20`.
        objective_clean_weight: float in [0, 1], the weight `w` of the clean accuracy in the
            objective (`w * clean + (1 - w) * robust`); `0` makes the objective
            `val_robust_accuracy`. Defaults to `0.0`.
        validation_data: optional `(x, y)` used when `fit` gets no `validation_data`. Defaults to
            `None`.
        seed: optional int, the weight-initialisation and attack seed. Defaults to `0`.
        checkpoint: `"best"` (each trial keeps, and is scored at, its epoch with the best
            objective, as Rice et al.'s robust early stopping) or `"last"` (its last epoch, as
            papers that report the final model; an epoch-by-epoch `best_epoch` is then not
            recorded). Defaults to `"best"`.
        name: optional name of the hypermodel. Defaults to `None`.

    Example:

    ```python
    import tfadv.tuning

    space = tfadv.tuning.SearchSpace({"eps": {"values": [0.1, 0.3]}}, method="pgdat")
    hypermodel = tfadv.tuning.AdvHyperModel(space, eval_eps=0.3)
    tuner = tfadv.tuning.make_tuner(hypermodel, "random", max_trials=2, directory="runs")
    tuner.search(x_train, y_train, epochs=3, validation_data=(x_val, y_val))
    tuner.get_best_models()[0].classifier  # the robust network, at its best epoch
    ```
    """

    def __init__(
        self,
        space=None,
        *,
        input_shape=(28, 28, 1),
        num_classes=10,
        attack_steps=10,
        ramp_epochs=1.0,
        eval_eps=0.3,
        eval_protocol="quick",
        eval_limit=None,
        eval_batch_size=256,
        eval_eot_iter=20,
        objective_clean_weight=0.0,
        validation_data=None,
        seed=0,
        checkpoint="best",
        name=None,
        tunable=True,
    ):
        super().__init__(name=name, tunable=tunable)
        if space is None:
            space = SearchSpace()
        elif isinstance(space, dict):
            space = SearchSpace.from_config(space)
        elif not isinstance(space, SearchSpace):
            raise TypeError(
                f"`space` must be a tfadv.tuning.SearchSpace or its config dict. "
                f"Received: space={space!r}"
            )
        self.space = space
        self.input_shape = tuple(int(d) for d in input_shape)
        self.num_classes = validation.check_number(
            "num_classes", num_classes, minimum=2, integer=True
        )
        self.attack_steps = validation.check_steps(attack_steps, "attack_steps")
        self.ramp_epochs = validation.check_number("ramp_epochs", ramp_epochs, minimum=0.0)
        self.eval_eps = validation.check_eps(eval_eps, "eval_eps")
        from tfadv.evaluation.protocols import get_protocol

        get_protocol(eval_protocol)  # validates now, not at the end of the first epoch
        self.eval_protocol = eval_protocol
        if eval_limit is not None:
            eval_limit = validation.check_steps(eval_limit, "eval_limit")
        self.eval_limit = eval_limit
        self.eval_batch_size = validation.check_steps(eval_batch_size, "eval_batch_size")
        self.eval_eot_iter = validation.check_steps(eval_eot_iter, "eval_eot_iter")
        self.objective_clean_weight = check_clean_weight(
            objective_clean_weight, "objective_clean_weight"
        )
        self.validation_data = validation_data
        if seed is not None:
            seed = validation.check_number("seed", seed, minimum=0, integer=True)
        self.seed = seed
        self.checkpoint = validation.check_choice("checkpoint", checkpoint, ("best", "last"))

    @property
    def objective(self):
        """The `keras_tuner.Objective` this hypermodel's `fit` writes into the logs."""
        return get_objective(self.objective_clean_weight)

    # ----------------------------------------------------------------------------- keras_tuner API
    def declare_hyperparameters(self, hp):
        self.space.declare(hp)

    def build(self, hp):
        values = self.space.values(hp)
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        classifier = self.build_classifier(values)
        model = self.build_method(classifier, values)
        model.compile(optimizer=keras.optimizers.Adam(values["learning_rate"]))
        # Built now, so that a trial's checkpoint (weights and Adam moments) loads whole: Hyperband
        # continues trials from it, and `get_best_models` reloads it.
        model.optimizer.build(model.trainable_variables)
        return model

    def fit(self, hp, model, *args, validation_data=None, callbacks=None, **kwargs):
        """Trains `model` with the robust-evaluation callbacks in front of `callbacks`."""
        from tfadv.evaluation.robust_evaluation import RobustEvaluation

        data = self.validation_data if validation_data is None else validation_data
        if data is None:
            raise ValueError(
                "The search objective is a robust validation accuracy: pass `validation_data=(x, "
                "y)` to search() / fit(), or to AdvHyperModel. Received: validation_data=None"
            )
        evaluation = RobustEvaluation(
            data,
            eps=self.eval_eps,
            protocol=self.eval_protocol,
            limit=self.eval_limit,
            batch_size=self.eval_batch_size,
            eot_iter=self.eval_eot_iter,
            seed=0 if self.seed is None else self.seed,
        )
        extra = [evaluation]
        if self.objective_clean_weight > 0:
            extra.append(WeightedAccuracy(evaluation, clean_weight=self.objective_clean_weight))
        callbacks = list(callbacks or [])
        if self.checkpoint == "last":  # the tuner's best-epoch checkpoint becomes a last-epoch one
            callbacks = [
                _SaveLastEpoch(c.filepath) if type(c).__name__ == "SaveBestEpoch" else c
                for c in callbacks
            ]
        history = model.fit(*args, callbacks=extra + callbacks, **kwargs)
        if self.checkpoint == "last":  # the trial's score is then the last epoch's
            return {name: values[-1] for name, values in history.history.items() if values}
        return history

    # -------------------------------------------------------------------------------- the builders
    def build_classifier(self, values):
        """The space's `tfadv.models` builder called with a trial's model knobs.

        The method's `builder_options` are added (AdvProp builds with `dual_bn=True`).
        """
        from tfadv.methods import METHODS

        builder = model_builder(self.space.model)
        kwargs = {"input_shape": self.input_shape, "num_classes": self.num_classes}
        kwargs.update(METHODS.get(self.space.method).builder_options)
        for name in ("width", "depth"):
            if values.get(name) is not None:
                kwargs[name] = values[name]
        if values["noise_stddev"] > 0:
            kwargs["noise_stddev"] = values["noise_stddev"]
        if values["pni"]:
            kwargs["pni"] = True
        return builder(**kwargs)

    def build_method(self, classifier, values):
        """The space's method wrapping `classifier`, built from the registry with its knobs."""
        from tfadv import AttackBudget, schedules
        from tfadv.methods import METHODS

        method = METHODS.get(self.space.method)
        eps = values["eps"]
        schedule = None
        if self.ramp_epochs > 0 and eps > 0:
            schedule = schedules.LinearRamp(0.0, eps, ramp_epochs=self.ramp_epochs)
        budget = AttackBudget(eps=eps, steps=self.attack_steps, seed=self.seed)
        knobs = {name: values[name] for name in method.knobs if name in values}
        return method.from_knobs(classifier, budget=budget, eps_schedule=schedule, **knobs)

    # -------------------------------------------------------------------------------- serialisation
    def get_config(self):
        protocol = self.eval_protocol
        if not isinstance(protocol, str):
            protocol = getattr(protocol, "name", None) or [
                keras.saving.serialize_keras_object(attack) for attack in protocol
            ]
        return {
            "space": self.space.get_config(),
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "attack_steps": self.attack_steps,
            "ramp_epochs": self.ramp_epochs,
            "eval_eps": self.eval_eps,
            "eval_protocol": protocol,
            "eval_limit": self.eval_limit,
            "eval_batch_size": self.eval_batch_size,
            "eval_eot_iter": self.eval_eot_iter,
            "objective_clean_weight": self.objective_clean_weight,
            "seed": self.seed,
            "checkpoint": self.checkpoint,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        protocol = config.get("eval_protocol", "quick")
        if isinstance(protocol, list):
            config["eval_protocol"] = [keras.saving.deserialize_keras_object(a) for a in protocol]
        return cls(**config)
