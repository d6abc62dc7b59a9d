"""`AdvModel`: adversarial training of any Keras classifier through `model.fit`."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfadv import _training, backend
from tfadv._training import ProgressCallback, per_example_ce, replicas
from tfadv.attack_budget import AttackBudget
from tfadv.attacks.attack import Attack, model_logits
from tfadv.attacks.pgd import PGD
from tfadv.attacks.threat_model import THREAT_MODELS
from tfadv.loss_result import LossResult
from tfadv.schedules.schedule import Schedule
from tfadv.utils import validation
from tfadv.utils.registry import Registry, bind_knobs

#: Every training method, by registry name; filled by `AdvModel` subclasses that declare
#: `registry_name` (each module of `tfadv.methods` is imported on first look-up).
METHODS = Registry("method", package="tfadv.methods")


@keras.saving.register_keras_serializable(package="tfadv")
class AdvModel(keras.Model):
    """Wraps a classifier so that `fit` trains it adversarially.

    `AdvModel` is a `keras.Model` whose `call` forwards to `classifier`; saving and export act on
    `adv_model.classifier`, so deployed artefacts contain no attack code. It owns `train_step`: it unpacks
    `(x, y, sample_weight)`, generates adversarial examples (hook `generate_adversarial`), computes the
    loss (hook `compute_adv_loss`, the one a method overrides), applies loss scaling under mixed precision
    and the per-replica scaling under `tf.distribute`, calls the optimizer, and updates the metrics
    `loss`, `clean_accuracy`, `adv_accuracy`, `grad_evals` (input-gradient evaluations the attack spent
    per example), any method extras, and the compiled metrics (on the clean inference-mode logits). Its
    `test_step` reports the clean loss and accuracy, plus `adv_accuracy` under `eval_attack` when given.

    The base class trains on adversarial examples only (Madry et al.); `tfadv.methods` holds one subclass
    per method, each enrolled in `tfadv.methods.METHODS` with its `knobs` (see `from_knobs`). Input
    contract: images in [0, 1], integer class labels, a classifier returning logits; bad data (NaN or
    out-of-range pixels, fractional or one-hot labels, a softmax output) raises `ValueError`.

    Args:
        classifier: a `keras.Model` (Sequential, Functional or subclassed) mapping images in [0, 1] to
            logits.
        attack: a `tfadv.attacks.Attack` used to craft training examples. Defaults to
            `tfadv.attacks.PGD(eps=0.3, step_size=0.01, steps=40)` (Madry's MNIST setting).
        eps_schedule: optional `tfadv.schedules.Schedule` giving the training epsilon per epoch (a
            warm-up ramp); step sizes scale with it. Defaults to `None` (the attack's `eps`).
        eval_attack: optional attack used by `evaluate` / validation to report `adv_accuracy`.
            Defaults to `None`.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:

    ```python
    classifier = tfadv.models.small_cnn()
    model = tfadv.AdvModel(
        classifier,
        attack=tfadv.attacks.PGD(eps=0.3, step_size=0.01, steps=10),
        eps_schedule=tfadv.schedules.LinearRamp(0.0, 0.3, ramp_epochs=5),
    )
    model.compile(optimizer="adam")
    model.fit(x_train, y_train, epochs=15)
    model.classifier.save("robust.keras")
    ```

    Reference:
        Madry, Makelov, Schmidt, Tsipras, Vladu, "Towards Deep Learning Models Resistant to Adversarial
        Attacks", ICLR 2018.
    """

    #: Names of the extra per-batch means a method reports (keys of `LossResult.extras`).
    extra_metrics = ()
    #: The method's name in `tfadv.methods.METHODS` (a subclass that sets it enrols itself).
    registry_name = None
    #: The method's own hyperparameters, `name -> tfadv.utils.registry.Knob` (read by the CLI,
    #: recipes and Keras Tuner): its constructor's keyword arguments, whose defaults are read from
    #: the constructor's signature when the class is created (`tfadv.utils.registry.bind_knobs`).
    knobs = {}
    #: The norms a training budget may name (`AttackBudget.norm`); `from_knobs` refuses any other.
    norms = tuple(THREAT_MODELS.names())
    #: The Keras backends the method trains on (its hook written in `keras.ops`); construction
    #: refuses any other with a `ValueError`. A method whose hook uses TensorFlow directly declares
    #: `("tensorflow",)`.
    backends = backend.BACKENDS
    #: Keyword arguments a `tfadv.models` builder needs for this method (AdvProp: `dual_bn=True`).
    builder_options = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "knobs" in cls.__dict__:
            cls.knobs = bind_knobs(cls, cls.knobs)
        if cls.__dict__.get("registry_name"):
            METHODS.register(cls)

    def __init__(self, classifier, attack=None, *, eps_schedule=None, eval_attack=None, **kwargs):
        backend.check_supported(
            f"Method {self.registry_name or type(self).__name__!r} ({type(self).__name__})",
            self.backends,
        )
        super().__init__(**kwargs)
        if not isinstance(classifier, keras.Model):
            raise TypeError(
                "`classifier` must be a keras.Model mapping images to logits. "
                f"Received: classifier={classifier!r}"
            )
        if attack is None:
            attack = PGD(eps=0.3, step_size=0.01, steps=40)
        self.attack = self._check_attack("attack", attack)
        self.eval_attack = (
            None if eval_attack is None else self._check_attack("eval_attack", eval_attack)
        )
        if eps_schedule is not None and not isinstance(eps_schedule, Schedule):
            raise TypeError(
                "`eps_schedule` must be a tfadv.schedules.Schedule. "
                f"Received: eps_schedule={eps_schedule!r}"
            )
        if eps_schedule is not None and eps_schedule.bounds()[0] < 0:
            raise ValueError(
                "`eps_schedule` must stay >= 0: a negative radius trains on no adversarial "
                f"examples at all. Received: eps_schedule={eps_schedule!r}"
            )
        self.eps_schedule = eps_schedule
        self.classifier = classifier
        self.epoch_progress = _training.progress_variable("epoch_progress", 0.0, "float32")
        self.progress_state = _training.progress_variable()
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.clean_accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="clean_accuracy")
        self.adv_accuracy_tracker = keras.metrics.SparseCategoricalAccuracy(name="adv_accuracy")
        self.grad_evals_tracker = keras.metrics.Mean(name="grad_evals")
        self.extra_trackers = {name: keras.metrics.Mean(name=name) for name in self.extra_metrics}
        if backend.name() == "jax":
            # The attacks' random draws inside the compiled step (JAX's training state is explicit).
            self.seed_generator = keras.random.SeedGenerator(name="attack_seed")
        if classifier.built:
            self.built = True

    @staticmethod
    def _check_attack(name, attack):
        if not isinstance(attack, Attack):
            raise TypeError(f"`{name}` must be a tfadv.attacks.Attack. Received: {name}={attack!r}")
        return attack

    # ------------------------------------------------------------------------------------- registry API
    @classmethod
    def from_knobs(
        cls, classifier, *, budget=None, eps_schedule=None, eval_attack=None, **knob_values
    ):
        """Builds the method from its registry knobs and a training-attack budget.

        This is how the CLI, recipes and Keras Tuner build every method. A knob is a constructor
        argument with the constructor's default, so `from_knobs(classifier)` and the constructor
        agree on everything but the training attack, which `budget` sets: its radius, steps, step
        size, seed and norm are the budget's. A method that is not defined under the budget's norm
        refuses it (`cls.norms`). Unknown knob names raise `ValueError`; values are checked by the
        constructor (a knob the constructor never sees, such as MAT's `l2_eps`, by its `Knob`).

        Args:
            classifier: a `keras.Model` mapping images in [0, 1] to logits.
            budget: a `tfadv.AttackBudget` (or a dict of its fields) for the training attack.
                Defaults to `None` (`AttackBudget()`: eps 0.3, 10 steps, step 2.5 * eps / steps).
            eps_schedule: optional `tfadv.schedules.Schedule`. Defaults to `None`.
            eval_attack: optional attack for validation `adv_accuracy`. Defaults to `None`.
            **knob_values: the method's knobs (`cls.knobs`).

        Example:

        ```python
        model = tfadv.methods.get("trades").from_knobs(
            tfadv.models.small_cnn(), budget=tfadv.AttackBudget(eps=0.3, steps=10), beta=6.0
        )
        ```
        """
        budget = cls.check_budget(budget)
        return cls(
            classifier,
            eps_schedule=eps_schedule,
            eval_attack=eval_attack,
            **cls.knob_arguments(budget, cls.resolve_knobs(knob_values)),
        )

    @classmethod
    def check_budget(cls, budget):
        """`budget` as an `AttackBudget`, refused when the method is not defined under its norm."""
        if budget is None:
            budget = AttackBudget()
        elif isinstance(budget, dict):
            budget = AttackBudget(**budget)
        elif not isinstance(budget, AttackBudget):
            raise TypeError(
                f"`budget` must be a tfadv.AttackBudget or a dict. Received: budget={budget!r}"
            )
        if budget.norm not in cls.norms:
            raise ValueError(
                f"Method {cls.registry_name!r} ({cls.__name__}) is defined under the "
                f"{' and '.join(cls.norms)} threat model{'s' if len(cls.norms) > 1 else ''} only; "
                f"it cannot train under norm {budget.norm!r}. Received: attack.norm={budget.norm!r}"
            )
        return budget

    @classmethod
    def resolve_knobs(cls, values):
        """Every knob's value: `values` where given, the default otherwise; unknown names raise."""
        unknown = sorted(set(values) - set(cls.knobs))
        if unknown:
            raise ValueError(
                f"{cls.__name__} has no knob {unknown[0]!r}; its knobs are {sorted(cls.knobs)}. "
                f"Received: {unknown[0]}={values[unknown[0]]!r}"
            )
        return {name: values.get(name, knob.default) for name, knob in cls.knobs.items()}

    @classmethod
    def knob_arguments(cls, budget, values):
        """Hook: constructor arguments from an `AttackBudget` and the knob values.

        The default trains with `budget.pgd()` and passes every knob by its name.
        """
        return {"attack": budget.pgd(), **values}

    def training_attacks(self):
        """The attacks that craft the training examples (read by the threat-model tests)."""
        return [self.attack]

    # ------------------------------------------------------------------------------------------ keras API
    def call(self, inputs, training=None):
        return self.classifier(inputs, training=training)

    def build(self, input_shape):
        if not self.classifier.built:
            self.classifier.build(input_shape)
        self.built = True

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        """Configures training. The loss is the method's; pass only the optimizer and extra metrics."""
        if loss is not None:
            raise ValueError(
                "AdvModel computes its method's own loss; do not pass `loss` to compile(). "
                f"Received: loss={loss!r}"
            )
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        config = dict(keras.saving.deserialize_keras_object(config))
        config.pop("loss", None)
        config.pop("loss_weights", None)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    @property
    def metrics(self):
        """The method's own trackers first (`loss`, accuracies, `grad_evals`, extras), then the
        compiled metrics."""
        own = [self.loss_tracker, self.clean_accuracy_tracker, self.adv_accuracy_tracker]
        own += [self.grad_evals_tracker, *self.extra_trackers.values()]
        rest = [m for m in super().metrics if m.name != "loss" and all(m is not o for o in own)]
        return own + rest

    @property
    def num_classes(self):
        shape = getattr(self.classifier, "output_shape", None)
        if shape is not None and isinstance(shape, tuple) and shape[-1] is not None:
            return int(shape[-1])
        return None

    def _check_numpy_data(self, x, y, x_name="x", y_name="y"):
        """Checks the data `fit`/`evaluate` received, before any work, with the input contract of
        `tfadv.utils.validation.check_inputs`: arrays and eager tensors by value, a
        `tf.data.Dataset` by its `element_spec` (dtype and shape; its values are asserted in-graph
        by `_prepare`). Python generators and `keras.utils.PyDataset`s are checked batch by batch
        in `_prepare`."""
        if isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            if (
                not isinstance(spec, (tuple, list))
                or len(spec) < 2
                or not all(isinstance(s, tf.TensorSpec) for s in spec[:2])
            ):
                raise ValueError(
                    "AdvModel needs labels: the dataset must yield `(x, y)` or "
                    f"`(x, y, sample_weight)` batches of tensors. Received: element_spec={spec}"
                )
            if spec[1].shape.rank == 0:
                raise ValueError(
                    "The dataset yields single examples, not batches: call `.batch(batch_size)` on "
                    f"it. Received: element_spec={spec}"
                )
            validation.check_inputs(
                spec[0], spec[1], model=self.classifier, x_name=x_name, y_name=y_name
            )
        elif isinstance(x, np.ndarray) or (tf.is_tensor(x) and hasattr(x, "numpy")):
            if y is None:
                raise ValueError(
                    f"AdvModel needs labels: pass `{y_name}` with `{x_name}`. Received: {y_name}=None"
                )
            validation.check_inputs(
                x, y, model=self.classifier, num_classes=self.num_classes, x_name=x_name,
                y_name=y_name,
            )  # fmt: skip

    def _check_trainable(self):
        """Refuses a classifier whose layers are all frozen: training would change nothing."""
        if self.trainable_weights:
            return
        frozen = len(self.classifier.weights)
        raise ValueError(
            f"The classifier {self.classifier.name!r} has no trainable weights: all its layers are "
            "frozen (`trainable=False`), so adversarial training would change nothing. Unfreeze "
            "the layers to train, e.g. `classifier.layers[-1].trainable = True`. Received: "
            f"classifier={self.classifier.name!r} with 0 trainable and {frozen} frozen weights"
        )

    def fit(self, x=None, y=None, *args, callbacks=None, **kwargs):
        """Trains the classifier with the method (`keras.Model.fit`).

        The data are checked against tfadv's input contract before the first step (see
        `tfadv.utils.validation.check_inputs`): images in [0, 1] of the classifier's input shape
        (a missing channel axis is refused), integer class ids `(N,)`, as many labels as images.
        A classifier with frozen layers trains its trainable weights only; one with none is
        refused.
        """
        if self.classifier.built:
            self._check_trainable()
        self._check_numpy_data(x, y)
        validation_data = kwargs.get("validation_data")
        if isinstance(validation_data, tf.data.Dataset):
            self._check_numpy_data(
                validation_data, None, "validation_data[0]", "validation_data[1]"
            )
        elif isinstance(validation_data, (tuple, list)) and len(validation_data) >= 2:
            self._check_numpy_data(
                validation_data[0], validation_data[1], "validation_data[0]", "validation_data[1]"
            )
        callbacks = [ProgressCallback(self)] + list(callbacks or [])
        try:
            with validation.graph_errors_as_value_errors():
                return super().fit(x, y, *args, callbacks=callbacks, **kwargs)
        finally:
            ProgressCallback.stop(self)
            self.built = self.built or self.classifier.built

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """Clean (and `eval_attack`) accuracy (`keras.Model.evaluate`), on data checked as by
        `fit`."""
        self._check_numpy_data(x, y)
        with validation.graph_errors_as_value_errors():
            return super().evaluate(x, y, *args, **kwargs)

    # ------------------------------------------------------------------------------------------ the hooks
    def current_eps(self):
        """The training epsilon now (a float32 scalar tensor)."""
        if self.eps_schedule is None:
            return ops.convert_to_tensor(self.attack.eps, "float32")
        return ops.maximum(ops.cast(self.eps_schedule(self.epoch_progress), "float32"), 0.0)

    def generate_adversarial(self, x, y, eps):
        """Hook: crafts the training examples. Returns a `tfadv.attacks.AttackResult`."""
        return self.attack.run(self.classifier, x, y, eps=eps)

    def compute_adv_loss(self, x, y, adv, sample_weight=None):
        """Hook: the method's loss. The base class trains on adversarial examples only.

        Args:
            x: float32 clean images.
            y: int32 labels.
            adv: the `AttackResult` from `generate_adversarial` (`x_adv`, `clean_logits`, `info`).
            sample_weight: optional per-example weights.

        Returns:
            A `tfadv.LossResult`: the scalar float32 loss (reduced over the batch with
            `self.reduce_loss`), the logits `adv_accuracy` is measured on, an optional per-example
            weight for that metric, and one extra per name in `extra_metrics`.
        """
        adv_logits = self.classifier(adv.x_adv, training=True)
        loss = self.reduce_loss(per_example_ce(adv_logits, y), sample_weight)
        return LossResult(loss, adv_logits)

    def compute_gradients(self, x, y, adv, sample_weight=None):
        """Hook: the loss and its gradients with respect to `self.trainable_weights`.

        The base class differentiates `compute_adv_loss` (plus the classifier's regularisation
        losses) under loss scaling and the per-replica scaling of `tf.distribute`; wrappers that
        change where the gradient is taken (adversarial weight perturbation) override this. The
        state updates of the loss's forward pass (batch-norm moving statistics) are applied: on
        JAX, inside `tfadv.backend.stateless_train_step`'s scope, they go to the step's state.

        Returns:
            `(result, grads)`: the `LossResult` and one gradient per trainable weight.
        """
        if backend.name() == "torch":
            result, loss = self.total_loss(x, y, adv, sample_weight)
            self.optimizer.scale_loss(loss).backward()
            return result, [v.value.grad for v in self.trainable_weights]
        if backend.name() == "jax":  # a function of the weights' values, in the step's state

            def scaled_loss():
                result, loss = self.total_loss(x, y, adv, sample_weight)
                return self.optimizer.scale_loss(loss), result

            variables = self.trainable_weights
            return backend.gradients_at(
                scaled_loss,
                variables,
                [v.value for v in variables],
                state_variables=self.non_trainable_variables,
            )
        with tf.GradientTape() as tape:
            result, loss = self.total_loss(x, y, adv, sample_weight)
            scaled = self.optimizer.scale_loss(loss / replicas())
        return result, tape.gradient(scaled, self.trainable_weights)

    def total_loss(self, x, y, adv, sample_weight=None):
        """`compute_adv_loss` plus the classifier's regularisation losses: `(result, loss)`."""
        result = self.compute_adv_loss(x, y, adv, sample_weight)
        loss = result.loss
        if self.classifier.losses:
            loss = loss + ops.sum(
                ops.stack([ops.cast(v, "float32") for v in self.classifier.losses])
            )
        return result, loss

    # ----------------------------------------------------------------------------------------- helpers
    @staticmethod
    def reduce_loss(per_example, sample_weight=None):
        """Weighted sum over the batch divided by the batch size (Keras' `sum_over_batch_size`)."""
        per_example = ops.cast(per_example, "float32")
        if sample_weight is not None:
            per_example = per_example * ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        return ops.sum(per_example) / ops.cast(ops.shape(per_example)[0], "float32")

    def _prepare(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise ValueError(
                "AdvModel needs labels: pass `(x, y)` to fit/evaluate. Received: y=None"
            )
        # Dtypes and shapes at trace time (every data source, generators included); values below.
        validation.check_inputs(x, y, model=self.classifier)
        if backend.name() != "tensorflow":  # values were checked on the host by `fit`
            x = ops.cast(x, "float32")
            return x, ops.reshape(ops.cast(y, "int32"), (-1,)), sample_weight
        x = tf.cast(x, tf.float32)
        checks = validation.graph_assert_images(x, "x")
        if y.dtype.is_floating:
            checks += validation.graph_assert_integer_values(y, "y")
        with tf.control_dependencies(checks):
            x = tf.identity(x)
            y = tf.reshape(tf.cast(y, tf.int32), [-1])
        return x, y, sample_weight

    def _check_result(self, result):
        if not isinstance(result, LossResult):
            raise TypeError(
                f"{type(self).__name__}.compute_adv_loss must return a tfadv.LossResult. "
                f"Received: {type(result).__name__}"
            )
        unknown = sorted(set(result.extras) - set(self.extra_trackers))
        if unknown:
            raise ValueError(
                f"{type(self).__name__}.compute_adv_loss returned extras that are not in its "
                f"`extra_metrics` {list(self.extra_metrics)}. Received: {unknown}"
            )

    def train_step(self, *args):
        """One step (Keras' `train_step`; on JAX the stateless `(state, data)` form, run by
        `tfadv.backend.stateless_train_step` over the same pieces)."""
        if backend.name() == "jax":
            return backend.stateless_train_step(self, *args)
        (data,) = args
        x, y, sample_weight = self._prepare(data)
        adv = self.craft(x, y)
        if backend.name() == "torch":
            self.zero_grad()
        result, grads = self.compute_gradients(x, y, adv, sample_weight)
        self._check_result(result)
        self._check_trainable()  # a classifier built by its first call is checked here
        with backend.no_grad():
            self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self.update_trackers(x, y, sample_weight, adv, result)

    def craft(self, x, y):
        """Advances the epoch progress by one batch and crafts the batch's adversarial examples."""
        _training.advance_progress(self.epoch_progress, self.progress_state)
        return self.generate_adversarial(x, y, self.current_eps())

    def update_trackers(self, x, y, sample_weight, adv, result):
        """Updates the method's metrics after a step and returns the logs."""
        self.loss_tracker.update_state(result.loss, sample_weight=ops.shape(x)[0])
        self.clean_accuracy_tracker.update_state(y, adv.clean_logits, sample_weight)
        adv_weight = result.adv_weight
        if sample_weight is not None:
            sw = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            adv_weight = sw if adv_weight is None else adv_weight * sw
        self.adv_accuracy_tracker.update_state(
            y, ops.cast(result.adv_logits, "float32"), adv_weight
        )
        self.grad_evals_tracker.update_state(adv.info["grad_evals"])
        for name, value in result.extras.items():
            self.extra_trackers[name].update_state(ops.cast(value, "float32"))
        return self.compute_metrics(x, y, adv.clean_logits, sample_weight)

    def test_step(self, *args):
        """Clean loss and accuracy (and `eval_attack`'s); stateless `(state, data)` on JAX."""
        if backend.name() == "jax":
            return backend.stateless_test_step(self, *args)
        (data,) = args
        x, y, sample_weight = self._prepare(data)
        logits = model_logits(self.classifier, x)
        if backend.name() == "tensorflow":
            with tf.control_dependencies(
                validation.graph_assert_labels(y, tf.shape(logits)[-1], "y")
                + validation.graph_assert_logits(logits, "classifier")
            ):
                logits = tf.identity(logits)
        return self.evaluation_logs(x, y, sample_weight, logits)

    def evaluation_logs(self, x, y, sample_weight, logits):
        """Updates the evaluation metrics on the clean `logits` (and `eval_attack`) and returns
        the logs."""
        loss = self.reduce_loss(per_example_ce(logits, y), sample_weight)
        self.loss_tracker.update_state(loss, sample_weight=ops.shape(x)[0])
        self.clean_accuracy_tracker.update_state(y, logits, sample_weight)
        if self.eval_attack is not None:
            x_adv = self.eval_attack(self.classifier, x, y)
            adv_logits = model_logits(self.classifier, x_adv)
            self.adv_accuracy_tracker.update_state(y, adv_logits, sample_weight)
        results = self.compute_metrics(x, y, logits, sample_weight)
        skip = {self.grad_evals_tracker.name, *self.extra_trackers}
        if self.eval_attack is None:
            skip.add(self.adv_accuracy_tracker.name)
        return {name: value for name, value in results.items() if name not in skip}

    def predict_step(self, *args):
        if backend.name() == "jax":
            return super().predict_step(*args)
        x, _, _ = keras.utils.unpack_x_y_sample_weight(args[0])
        return self.classifier(x, training=False)

    # ------------------------------------------------------------------------------------- serialisation
    def get_config(self):
        config = super().get_config()
        config.update(
            classifier=keras.saving.serialize_keras_object(self.classifier),
            attack=keras.saving.serialize_keras_object(self.attack),
            eps_schedule=keras.saving.serialize_keras_object(self.eps_schedule),
            eval_attack=keras.saving.serialize_keras_object(self.eval_attack),
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("classifier", "attack", "eps_schedule", "eval_attack"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(
                    config[key], custom_objects=custom_objects
                )
        return cls(**config)
