"""Named, versioned evaluation protocols: fixed attacks with fixed budgets."""

from tfadv.attacks.apgd import APGD
from tfadv.attacks.apgd_targeted import APGDT
from tfadv.attacks.attack import Attack
from tfadv.attacks.fabt import FABT
from tfadv.attacks.pgd import PGD
from tfadv.attacks.square import Square
from tfadv.utils import validation
from tfadv.utils.registry import Registry


class Protocol:
    """A named, versioned evaluation protocol: an ordered list of attacks with fixed budgets.

    A protocol builds its attacks for a radius and a norm. With `cascade=True` it is applied as
    AutoAttack applies its attacks: each attack starts from the clean images but runs only on the
    examples that every earlier attack failed to break, and the accuracy after each attack is
    cumulative. With `cascade=False` every attack runs on every correctly classified example and its
    own accuracy is reported. Either way the robust accuracy is the per-example worst case: an
    example counts as robust only if every attack fails on it.

    A protocol runs the same attacks on every model: nothing switches when the model is randomised
    (AutoAttack warns and runs what was asked). `"rand"` is the protocol for randomised models:
    its gradient attacks average gradients over `eot_iter` draws (Expectation over
    Transformation). On a randomised model `attacks(..., randomized=True)` builds APGD attacks
    that run every example for their whole budget (`stop_when_fooled=False`), as the reference
    code does.

    Args:
        name: str, the protocol's name (`"quick"`, `"standard"`, ...).
        version: str, bumped whenever an attack or a budget changes, so that numbers stay
            comparable.
        description: str, one line.
        factories: list of `(label, factory)` pairs; `factory(eps, norm, seed, eot_iter)` returns a
            `tfadv.attacks.Attack`.
        cascade: bool, whether each attack runs only on the examples still robust. Defaults to
            `True`.

    Example:

    ```python
    protocol = tfadv.evaluation.get_protocol("standard")
    for label, attack in protocol.attacks(eps=0.3, norm="linf"):
        print(label, attack)
    ```

    Reference:
        Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of diverse
        parameter-free attacks", ICML 2020.
    """

    def __init__(self, name, version, description, factories, *, cascade=True):
        self.name = name
        self.version = version
        self.description = description
        self.factories = list(factories)
        self.cascade = bool(cascade)

    def attacks(self, eps, norm, *, seed=0, randomized=False, eot_iter=20):
        """Returns `[(label, attack), ...]` for radius `eps` and `norm`.

        `eot_iter` is the EOT of the attacks that average gradients (`"rand"`'s). With
        `randomized=True` an APGD attack left to decide (`stop_when_fooled=None`) is built to run
        every example for its whole budget: on a randomised model a misclassified iterate fooled
        one noise draw only.
        """
        eps = validation.check_eps(eps)
        norm = validation.check_choice("norm", norm, ("linf", "l2"))
        attacks = [(label, factory(eps, norm, seed, eot_iter)) for label, factory in self.factories]
        if randomized:
            attacks = [(label, full_budget(attack)) for label, attack in attacks]
        return attacks

    def freeze(self, eps, norm, *, seed=0, randomized=False, eot_iter=20):
        """A copy of the protocol whose attacks are built once, so that repeated evaluations (one
        per epoch in `RobustEvaluation`) reuse the compiled attacks. Name and version are kept."""
        attacks = self.attacks(eps, norm, seed=seed, randomized=randomized, eot_iter=eot_iter)
        return Protocol(
            self.name,
            self.version,
            self.description,
            [(label, _fixed(attack)) for label, attack in attacks],
            cascade=self.cascade,
        )

    def __repr__(self):
        return f"Protocol(name={self.name!r}, version={self.version!r})"


def full_budget(attack):
    """`attack`, or a copy of an APGD attack left to decide (`stop_when_fooled=None`) that would
    stop examples early (one gradient sample per step) and instead runs every example for its
    whole budget (`stop_when_fooled=False`): for randomised models."""
    if isinstance(attack, APGD) and attack.stop_when_fooled is None and attack.compacts:
        return type(attack).from_config({**attack.get_config(), "stop_when_fooled": False})
    return attack


def _pgd20(eps, norm, seed, eot_iter):
    return PGD(eps=eps, norm=norm, steps=20, step_size=None, restarts=1, loss="ce", seed=seed)


def _apgd(steps, loss, eot=False, restarts=1):
    def factory(eps, norm, seed, eot_iter):
        return APGD(
            eps=eps,
            norm=norm,
            steps=steps,
            restarts=restarts,
            loss=loss,
            eot_iter=eot_iter if eot else 1,
            checkpoint_rule="autoattack",
            seed=seed,
        )

    return factory


def _apgd_t(eps, norm, seed, eot_iter):
    return APGDT(
        eps=eps,
        norm=norm,
        steps=100,
        n_target_classes=9,
        restarts=1,
        checkpoint_rule="autoattack",
        seed=seed,
    )


def _fab(targeted, restarts=1):
    def factory(eps, norm, seed, eot_iter):
        return FABT(
            eps=eps,
            norm=norm,
            steps=100,
            n_target_classes=9,
            restarts=restarts,
            targeted=targeted,
            seed=seed,
        )

    return factory


def _square(eps, norm, seed, eot_iter):
    return Square(eps=eps, norm=norm, n_queries=5000, p_init=0.8, restarts=1, seed=seed)


#: The built-in protocols by name: `"quick"`, `"standard"`, `"plus"` and `"rand"`.
PROTOCOLS = Registry("protocol", ordered=True)
for _protocol in (
    Protocol(
        "quick",
        "1.1",
        "PGD-20 (CE, step 2.5 eps / 20) and APGD-CE (20 steps), each on every example.",
        [("PGD-20", _pgd20), ("APGD-CE", _apgd(20, "ce"))],
        cascade=False,
    ),
    Protocol(
        "standard",
        "2.1",
        "AutoAttack's standard version: APGD-CE (100 steps), APGD-T and FAB-T (100 steps on each "
        "of the min(9, classes - 1) most likely wrong classes), Square (5000 queries), each on "
        "the examples still robust.",
        [
            ("APGD-CE", _apgd(100, "ce")),
            ("APGD-T", _apgd_t),
            ("FAB-T", _fab(targeted=True)),
            ("Square", _square),
        ],
        cascade=True,
    ),
    Protocol(
        "plus",
        "1.1",
        "AutoAttack's plus version: APGD-CE and APGD-DLR (5 restarts each), FAB (5 restarts), "
        "Square (5000 queries), APGD-T and FAB-T (min(9, classes - 1) targets each), each on the "
        "examples still robust.",
        [
            ("APGD-CE", _apgd(100, "ce", restarts=5)),
            ("APGD-DLR", _apgd(100, "dlr", restarts=5)),
            ("FAB", _fab(targeted=False, restarts=5)),
            ("Square", _square),
            ("APGD-T", _apgd_t),
            ("FAB-T", _fab(targeted=True)),
        ],
        cascade=True,
    ),
    Protocol(
        "rand",
        "1.1",
        "AutoAttack's rand version, for randomised defences: APGD-CE and APGD-DLR (100 steps, one "
        "restart) with EOT over `eot_iter` (20) gradient samples, each on the examples still "
        "robust (on a model detected as deterministic `evaluate` takes one sample: EOT is idle).",
        [("APGD-CE", _apgd(100, "ce", eot=True)), ("APGD-DLR", _apgd(100, "dlr", eot=True))],
        cascade=True,
    ),
):
    PROTOCOLS.register(_protocol, name=_protocol.name)
# `"standard"`, `"plus"` and `"rand"` are AutoAttack's versions of those names (Croce and Hein 2020,
# `autoattack.py`), with its budgets: 100 iterations for APGD and FAB, 9 target classes for APGD-T
# and FAB-T (at most classes - 1), one restart for the targeted attacks and 5 for the untargeted
# ones in `"plus"`, 5000 queries for Square (`p_init` 0.8, one restart), EOT over 20 samples in
# `"rand"`. Randomised models are scored as AutoAttack scores them (one forward pass decides
# correctness; APGD runs every example for its whole budget) and no protocol switches to other
# attacks on them. Until these versions (standard 2.1, quick/plus/rand 1.1) were released, a
# randomised model was scored by a majority vote of 10 passes and `"quick"`, `"standard"` and
# `"plus"` ran `"rand"`'s attacks on it: the numbers of randomised models changed with this
# release, those of deterministic models did not.


def get_protocol(protocol):
    """Returns a `Protocol` from a name, a `Protocol`, or a list of attacks (or `(label, attack)`).

    A list of attacks becomes a `"custom"` protocol (no version) whose attacks each run on every
    example; the attacks are run at the evaluation's radius (their step sizes scale with it).
    """
    if isinstance(protocol, Protocol):
        return protocol
    if isinstance(protocol, str):
        validation.check_choice("protocol", protocol, tuple(PROTOCOLS))
        return PROTOCOLS[protocol]
    if isinstance(protocol, Attack):
        protocol = [protocol]
    if isinstance(protocol, (list, tuple)) and protocol:
        pairs = []
        for item in protocol:
            if isinstance(item, Attack):
                pairs.append((type(item).__name__, item))
            elif (
                isinstance(item, (list, tuple))
                and len(item) == 2
                and isinstance(item[0], str)
                and isinstance(item[1], Attack)
            ):
                pairs.append(tuple(item))
            else:
                raise TypeError(
                    "`protocol` must be a protocol name, a Protocol, or a list of tfadv attacks "
                    f"(or `(label, attack)` pairs). Received: an item {item!r}"
                )
        labels = [label for label, _ in pairs]
        for i, label in enumerate(labels):  # make labels unique: PGD, PGD-2, ...
            if labels.count(label) > 1:
                labels[i] = f"{label}-{labels[:i].count(label) + 1}"
        pairs = [(label, attack) for label, (_, attack) in zip(labels, pairs, strict=True)]
        factories = [(label, _fixed(attack)) for label, attack in pairs]
        return Protocol("custom", None, "user-supplied attacks", factories, cascade=False)
    raise ValueError(
        f"`protocol` must be one of {sorted(PROTOCOLS)}, a Protocol, or a non-empty list of "
        f"attacks. Received: protocol={protocol!r}"
    )


def _fixed(attack):
    def factory(eps, norm, seed, eot_iter):
        if attack.norm != norm:
            raise ValueError(
                f"Every attack must use the evaluation's norm {norm!r}. Received: {attack!r} with "
                f"norm={attack.norm!r}"
            )
        return attack

    return factory


def targets_used(attack, num_classes=None):
    """The target classes a targeted attack really tries: `min(n_target_classes, classes - 1)`
    (at least 1), or `n_target_classes` when `num_classes` is unknown."""
    if num_classes is None:
        return attack.n_target_classes
    return max(min(attack.n_target_classes, int(num_classes) - 1), 1)


def describe_budget(attack, num_classes=None):
    """A one-line human-readable budget of an attack, e.g. `"100 steps x 1 restart"`.

    With `num_classes`, a targeted attack states the targets it really tries (`targets_used`: a
    2-class model has 1).
    """
    name = type(attack).__name__
    parts = []
    if isinstance(attack, APGDT) or (isinstance(attack, FABT) and attack.targeted):
        targets = targets_used(attack, num_classes)
        parts.append(f"{targets} target{'s' if targets != 1 else ''} x {attack.steps} steps")
    elif hasattr(attack, "steps"):
        parts.append(f"{attack.steps} steps")
    if isinstance(attack, Square):
        parts.append(f"{attack.n_queries} queries, p_init {attack.p_init:g}")
    restarts = getattr(attack, "restarts", None)
    if restarts is not None:
        parts.append(f"{restarts} restart{'s' if restarts != 1 else ''}")
    if isinstance(attack, FABT):
        parts.append("minimum norm, targeted" if attack.targeted else "minimum norm, untargeted")
    elif name in ("APGD", "APGDT"):
        parts.append(f"loss {'dlr-targeted' if name == 'APGDT' else attack.loss}")
    elif getattr(attack, "loss", None) is not None:
        parts.append(f"loss {attack.loss}")
    step = getattr(attack, "step_size", "absent")
    if step != "absent":
        parts.append("step 2.5 eps / steps" if step is None else f"step {step:g}")
    if getattr(attack, "eot_iter", 1) > 1:
        parts.append(f"EOT {attack.eot_iter}")
    return ", ".join(parts) if parts else name
