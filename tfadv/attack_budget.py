"""`AttackBudget`: the training-attack settings a method is built from by `from_knobs`."""

import dataclasses

from tfadv.attacks._ops import default_step_size
from tfadv.attacks.early_stopped_pgd import EarlyStoppedPGD
from tfadv.attacks.pgd import PGD
from tfadv.utils import validation


@dataclasses.dataclass(frozen=True)
class AttackBudget:
    """The radius, steps, step size and seed of a method's training attack.

    `AdvModel.from_knobs` builds one and hands it to the method's `knob_arguments` hook, which turns
    it into the attack the method trains with (PGD for PGD-AT, the KL early-stopped PGD for TRADES,
    ...). Step sizes default to Madry et al.'s `2.5 * eps / steps`.

    Args:
        eps: float >= 0, the training radius. Defaults to `0.3`.
        steps: int >= 1, attack iterations. Defaults to `10`.
        step_size: optional float > 0. Defaults to `None` (`2.5 * eps / steps`).
        seed: optional int for reproducible random starts. Defaults to `None`.
        norm: `"linf"` or `"l2"`. Defaults to `"linf"`.

    Example:

    ```python
    budget = tfadv.AttackBudget(eps=0.3, steps=10)
    budget.pgd()  # PGD(eps=0.3, step_size=0.075, steps=10)
    ```
    """

    eps: float = 0.3
    steps: int = 10
    step_size: float | None = None
    seed: int | None = None
    norm: str = "linf"

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "eps", validation.check_eps(self.eps))
        set_(self, "steps", validation.check_steps(self.steps))
        if self.step_size is None:
            set_(self, "step_size", default_step_size(self.eps, self.steps))
        set_(
            self,
            "step_size",
            validation.check_number("step_size", self.step_size, minimum=0.0, strict=True),
        )
        if self.seed is not None:
            set_(self, "seed", validation.check_number("seed", self.seed, minimum=0, integer=True))
        set_(self, "norm", validation.check_choice("norm", self.norm, ("linf", "l2")))

    def pgd(self, *, eps=None, norm=None):
        """PGD at this budget (optionally at another radius / norm, with Madry's step rule)."""
        if eps is None and norm is None:
            return PGD(
                eps=self.eps,
                step_size=self.step_size,
                steps=self.steps,
                norm=self.norm,
                seed=self.seed,
            )
        eps = self.eps if eps is None else eps
        return PGD(
            eps=eps,
            step_size=default_step_size(eps, self.steps),
            steps=self.steps,
            norm=norm or self.norm,
            seed=self.seed,
        )

    def early_stopped(self, tau=None, *, random_init="uniform", loss="ce"):
        """FAT's early-stopped PGD-K-tau at this budget and norm (`tau=None`: never stops early)."""
        return EarlyStoppedPGD(
            eps=self.eps,
            norm=self.norm,
            step_size=self.step_size,
            steps=self.steps,
            tau=self.steps if tau is None else tau,
            random_init=random_init,
            omega=0.0,
            loss=loss,
            seed=self.seed,
        )
