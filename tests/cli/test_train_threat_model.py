"""`tfadv train` trains under the threat model the command line names.

`--config.attack.norm=l2 --config.attack.eps=2.0` on the main job (TRADES) builds an l2 training
attack at radius 2.0 (its `get_config()` says so, as does the run folder's `config.json`), and its
training perturbations stay in the l2 ball; a method defined for l-inf only is refused with one line
naming the method and the norm, before any run folder is written.
"""

import json

import numpy as np
import pytest

from tests.conftest import TINY_RUN
from tfadv.cli.main import main
from tfadv.experiment import build

TINY = [*TINY_RUN, "--config.attack.steps=2"]


@pytest.fixture
def built_methods(monkeypatch):
    """The methods `tfadv train` builds, as built."""
    methods = []
    build_method = build.build_method

    def recording(*args, **kwargs):
        methods.append(build_method(*args, **kwargs))
        return methods[-1]

    monkeypatch.setattr(build, "build_method", recording)
    return methods


def test_main_job_trains_under_the_l2_ball_it_is_given(tmp_path, capsys, built_methods):
    out = tmp_path / "run"
    argv = ["train", f"--config.workdir={out}", *TINY]
    assert main([*argv, "--config.attack.norm=l2", "--config.attack.eps=2.0"]) == 0
    stored = json.loads((out / "config.json").read_text())
    assert (stored["method"]["name"], stored["attack"]["norm"], stored["attack"]["eps"]) == (
        "trades",
        "l2",
        2.0,
    )
    (model,) = built_methods
    attack = model.attack.get_config()
    assert (attack["norm"], attack["eps"], attack["steps"]) == ("l2", 2.0, 2)
    x = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")
    x_adv = np.asarray(model.generate_adversarial(x, np.arange(4), 2.0).x_adv)
    assert np.all(np.linalg.norm((x_adv - x).reshape(4, -1), axis=1) <= 2.0 + 1e-4)


def test_a_method_without_l2_is_refused_in_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", f"--config.workdir={out}", *TINY, "--config.method.name=mat"]
    assert main([*argv, "--config.attack.norm=l2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "'mat'" in err and "Received: attack.norm='l2'" in err
    assert not out.exists()
