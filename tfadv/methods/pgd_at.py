"""Madry et al.'s PGD adversarial training."""

import keras

from tfadv.adv_model import AdvModel
from tfadv.attacks.pgd import PGD


@keras.saving.register_keras_serializable(package="tfadv")
class PGDAT(AdvModel):
    """PGD adversarial training: minimise the loss on PGD adversarial examples only.

    `min_theta E[max_{||delta|| <= eps} CE(f(x + delta), y)]`, with the inner maximisation approximated by
    `attack` (l-inf or l2 through the attack's `norm`). There is no clean term; with `eps = 0` this is
    plain training (tested).

    Args:
        classifier: a `keras.Model` mapping images in [0, 1] to logits.
        attack: the inner attack. Defaults to `tfadv.attacks.PGD(eps=0.3, step_size=0.01, steps=40)`
            (Madry's MNIST setting; use `eps=8/255, step_size=2/255, steps=10` on CIFAR-10).

    Keyword Args:
        eps_schedule: optional epsilon warm-up (`tfadv.schedules.LinearRamp`). Defaults to `None`.
        eval_attack: optional attack for validation `adv_accuracy`. Defaults to `None`.

    Example:

    ```python
    model = tfadv.methods.PGDAT(
        tfadv.models.small_cnn(),
        attack=tfadv.attacks.PGD(eps=0.3, step_size=0.01, steps=10),
    )
    model.compile(optimizer="adam")
    model.fit(x_train, y_train, epochs=10)
    ```

    Reference:
        Madry, Makelov, Schmidt, Tsipras, Vladu, "Towards Deep Learning Models Resistant to Adversarial
        Attacks", ICLR 2018.
    """

    registry_name = "pgdat"

    def __init__(self, classifier, attack=None, **kwargs):
        if attack is None:
            attack = PGD(eps=0.3, step_size=0.01, steps=40)
        super().__init__(classifier, attack, **kwargs)
