"""Attack maths shared by every attack (internal): one home for each formula."""


def default_step_size(eps, steps):
    """Madry et al.'s step rule, `2.5 * eps / steps` (a zero radius gets a harmless 1e-3 step)."""
    eps = float(eps)
    return 2.5 * eps / int(steps) if eps > 0 else 1e-3
