"""`WeightAveraging`: validate, select and export the optimizer's EMA of the weights."""

import keras


class WeightAveraging(keras.callbacks.Callback):
    """Makes validation, other callbacks and the final model see the averaged weights.

    Weight averaging is Keras-native: build the optimizer with `use_ema=True` and `ema_momentum`
    (e.g. `keras.optimizers.SGD(0.1, momentum=0.9, use_ema=True, ema_momentum=0.995)`). The
    optimizer then keeps `a_t = m * a_{t-1} + (1 - m) * w_t` after every step (`a_1 = w_1`) and
    `fit` copies the average into the model when training ends, so the trained classifier (and
    whatever is saved or exported from it) holds the averaged weights. This callback adds what
    the optimizer alone does not do:

    - validation during `fit` (`validation_data`) is computed with the averaged weights;
    - with `swap_on_epoch=True` (the default) the averaged weights are in the model from the end
      of each epoch until the start of the next, so callbacks listed after this one (e.g.
      `tfadv.evaluation.RobustEvaluation`, `tfadv.evaluation.RobustEarlyStopping`,
      `keras.callbacks.ModelCheckpoint`) measure, select and save the averaged model; robust early
      stopping then restores the best averaged weights at the end.

    The raw weights are kept aside while the averaged ones are in the model and put back before
    training resumes, so the optimization trajectory is unchanged. Only trainable weights are
    averaged (batch-norm moving statistics are averages already). List
    `keras.callbacks.BackupAndRestore` before this callback, so that it backs up the raw weights
    that training resumes from. Uses only public Keras APIs
    (`optimizer.finalize_variable_values`), and works with `LossScaleOptimizer` and
    `tf.distribute`.

    Args:
        swap_on_epoch: bool, whether to keep the averaged weights in the model between the end of
            an epoch and the start of the next. Defaults to `True`.

    Example:

    ```python
    import tfadv.callbacks

    model = tfadv.methods.TRADES(tfadv.models.small_cnn(), beta=6.0)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9, use_ema=True,
                                                 ema_momentum=0.995))
    model.fit(x, y, epochs=30, validation_data=(x_val, y_val), callbacks=[
        tfadv.callbacks.WeightAveraging(),
        tfadv.evaluation.RobustEvaluation((x_val, y_val), eps=0.3),
        tfadv.evaluation.RobustEarlyStopping(patience=5),
    ])
    model.classifier.save("averaged.keras")
    ```

    Reference:
        Polyak, Juditsky, "Acceleration of Stochastic Approximation by Averaging", SIAM J. Control
        Optim. 1992; Gowal, Qin, Uesato, Mann, Kohli, "Uncovering the Limits of Adversarial
        Training against Norm-Bounded Adversarial Examples", arXiv:2010.03593 (EMA decay 0.995).
    """

    def __init__(self, swap_on_epoch=True):
        super().__init__()
        if not isinstance(swap_on_epoch, bool):
            raise TypeError(
                f"`swap_on_epoch` must be a bool. Received: swap_on_epoch={swap_on_epoch!r}"
            )
        self.swap_on_epoch = swap_on_epoch
        self._raw = None

    def _optimizer(self):
        optimizer = self.model.optimizer
        return getattr(optimizer, "inner_optimizer", optimizer)

    def on_train_begin(self, logs=None):
        optimizer = self._optimizer()
        if not getattr(optimizer, "use_ema", False):
            raise ValueError(
                "WeightAveraging needs an optimizer built with `use_ema=True` (and "
                "`ema_momentum`). Received: optimizer="
                f"{type(optimizer).__name__}(use_ema={getattr(optimizer, 'use_ema', None)!r})"
            )
        self._raw = None

    def _swap_in(self):
        if self._raw is None and self.model.optimizer.built:
            weights = self.model.trainable_weights
            self._raw = [variable.numpy() for variable in weights]
            self.model.optimizer.finalize_variable_values(weights)

    def _swap_out(self):
        if self._raw is not None:
            for variable, value in zip(self.model.trainable_weights, self._raw, strict=True):
                variable.assign(value)
            self._raw = None

    def on_epoch_begin(self, epoch, logs=None):
        self._swap_out()

    def on_test_begin(self, logs=None):
        self._swap_in()

    def on_test_end(self, logs=None):
        if not self.swap_on_epoch:
            self._swap_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_in()
        else:
            self._swap_out()

    def on_train_end(self, logs=None):
        # `fit` has copied the final average into the model before this hook: nothing to restore.
        self._raw = None

    def get_config(self):
        return {"swap_on_epoch": self.swap_on_epoch}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
