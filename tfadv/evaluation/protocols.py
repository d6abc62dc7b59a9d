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

    A protocol may define a variant for randomised models (`rand_factories`), used when the model's
    outputs change between two forward passes; its gradient attacks then average gradients over
    `eot_iter` draws (Expectation over Transformation).

    Args:
        name: str, the protocol's name (`"quick"`, `"standard"`, ...).
        version: str, bumped whenever an attack or a budget changes, so that numbers stay
            comparable.
        description: str, one line.
        factories: list of `(label, factory)` pairs; `factory(eps, norm, seed, eot_iter)` returns a
            `tfadv.attacks.Attack`.
        cascade: bool, whether each attack runs only on the examples still robust. Defaults to
            `True`.
        rand_factories: optional list like `factories`, the variant for randomised models. Defaults
            to `None` (the same attacks).

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

    def __init__(self, name, version, description, factories, *, cascade=True, rand_factories=None):
        self.name = name
        self.version = version
        self.description = description
        self.factories = list(factories)
        self.cascade = bool(cascade)
        self.rand_factories = None if rand_factories is None else list(rand_factories)

    def attacks(self, eps, norm, *, seed=0, randomized=False, eot_iter=20):
        """Returns `[(label, attack), ...]` for radius `eps` and `norm`."""
        eps = validation.check_eps(eps)
        norm = validation.check_choice("norm", norm, ("linf", "l2"))
        factories = self.factories
        if randomized and self.rand_factories is not None:
            factories = self.rand_factories
        return [(label, factory(eps, norm, seed, eot_iter)) for label, factory in factories]

    def variant(self, randomized):
        """`"rand"` when the randomised-model variant applies, else `"default"`."""
        if getattr(self, "_variant", None) is not None:
            return self._variant
        return "rand" if randomized and self.rand_factories is not None else "default"

    def freeze(self, eps, norm, *, seed=0, randomized=False, eot_iter=20):
        """A copy of the protocol whose attacks are built once, so that repeated evaluations (one
        per epoch in `RobustEvaluation`) reuse the compiled attacks. Name, version and variant are
        kept."""
        attacks = self.attacks(eps, norm, seed=seed, randomized=randomized, eot_iter=eot_iter)
        frozen = Protocol(
            self.name,
            self.version,
            self.description,
            [(label, _fixed(attack)) for label, attack in attacks],
            cascade=self.cascade,
        )
        frozen._variant = self.variant(randomized)
        return frozen

    def __repr__(self):
        return f"Protocol(name={self.name!r}, version={self.version!r})"


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


# AutoAttack's `version="rand"`: APGD-CE and APGD-DLR, one restart each, gradients averaged over
# `eot_iter` (20) draws.
_RAND = [("APGD-CE", _apgd(100, "ce", eot=True)), ("APGD-DLR", _apgd(100, "dlr", eot=True))]

#: The built-in protocols by name: `"quick"`, `"standard"`, `"plus"` and `"rand"`.
PROTOCOLS = Registry("protocol", ordered=True)
for _protocol in (
    Protocol(
        "quick",
        "1.1",
        "PGD-20 (CE, step 2.5 eps / 20) and APGD-CE (20 steps), each on every example.",
        [("PGD-20", _pgd20), ("APGD-CE", _apgd(20, "ce"))],
        cascade=False,
        rand_factories=[
            ("APGD-CE", _apgd(20, "ce", eot=True)),
            ("APGD-DLR", _apgd(20, "dlr", True)),
        ],
    ),
    Protocol(
        "standard",
        "2.1",
        "AutoAttack's standard version: APGD-CE (100 steps), APGD-T (9 targets x 100 steps), FAB-T "
        "(9 targets x 100 steps), Square (5000 queries), each on the examples still robust.",
        [
            ("APGD-CE", _apgd(100, "ce")),
            ("APGD-T", _apgd_t),
            ("FAB-T", _fab(targeted=True)),
            ("Square", _square),
        ],
        cascade=True,
        rand_factories=_RAND,
    ),
    Protocol(
        "plus",
        "1.1",
        "AutoAttack's plus version: APGD-CE and APGD-DLR (5 restarts each), FAB (5 restarts), "
        "Square (5000 queries), APGD-T and FAB-T (9 targets each), each on the examples still "
        "robust.",
        [
            ("APGD-CE", _apgd(100, "ce", restarts=5)),
            ("APGD-DLR", _apgd(100, "dlr", restarts=5)),
            ("FAB", _fab(targeted=False, restarts=5)),
            ("Square", _square),
            ("APGD-T", _apgd_t),
            ("FAB-T", _fab(targeted=True)),
        ],
        cascade=True,
        rand_factories=_RAND,
    ),
    Protocol(
        "rand",
        "1.1",
        "AutoAttack's rand version, for randomised defences: APGD-CE and APGD-DLR with EOT over "
        "`eot_iter` (20) gradient samples, each on the examples still robust.",
        _RAND,
        cascade=True,
    ),
):
    PROTOCOLS.register(_protocol, name=_protocol.name)
# `"standard"`, `"plus"` and `"rand"` are AutoAttack's versions of those names (Croce and Hein 2020,
# `autoattack.py`), with its budgets: 100 iterations for APGD and FAB, 9 target classes for APGD-T
# and FAB-T, one restart for the targeted attacks and 5 for the untargeted ones in `"plus"`, 5000
# queries for Square (`p_init` 0.8, one restart), EOT over 20 samples in `"rand"`.


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


def describe_budget(attack):
    """A one-line human-readable budget of an attack, e.g. `"100 steps x 1 restart"`."""
    name = type(attack).__name__
    parts = []
    if isinstance(attack, APGDT) or (isinstance(attack, FABT) and attack.targeted):
        parts.append(f"{attack.n_target_classes} targets x {attack.steps} steps")
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
