"""Bad arguments to `tfadv.data.load` / `load_numpy` raise errors quoting the received value."""

import pytest

import tfadv.data

BAD_ARGUMENTS = [
    ({"name": "imagenet"}, "name='imagenet'"),
    ({"split": "val"}, "split='val'"),
    ({"validation_size": -1}, "validation_size=-1"),
    ({"validation_size": 10_000}, "validation_size=10000"),
    ({"validation_size": 2.5}, "validation_size=2.5"),
    ({"split": "validation", "validation_size": 0}, "validation_size=0"),
    ({"seed": -3}, "seed=-3"),
    ({"limit": 0}, "limit=0"),
]


@pytest.mark.parametrize("kwargs, message", BAD_ARGUMENTS)
def test_load_numpy_errors(kwargs, message):
    with pytest.raises(ValueError) as info:
        tfadv.data.load_numpy(**kwargs)
    assert message in str(info.value)
    assert "Received:" in str(info.value)


@pytest.mark.parametrize(
    "kwargs, message",
    BAD_ARGUMENTS
    + [
        ({"batch_size": 0}, "batch_size=0"),
        ({"batch_size": -5}, "batch_size=-5"),
        ({"name": "cifar10", "validation_size": 50_000}, "validation_size=50000"),
        ({"augment": {"padding": -1}}, "padding=-1"),
        ({"augment": {"pad_mode": "wrap"}}, "pad_mode='wrap'"),
        ({"augment": {"shift": 2}}, "unknown: ['shift']"),
    ],
)
def test_load_errors(kwargs, message):
    with pytest.raises(ValueError) as info:
        tfadv.data.load(**kwargs)
    assert message in str(info.value)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        tfadv.data.load("imagenet")
    for name in tfadv.data.DATASETS:
        assert name in str(info.value)


def test_validation_size_bound_names_the_training_size():
    with pytest.raises(ValueError, match="10000 training examples"):
        tfadv.data.load_numpy(split="train", validation_size=10_000)
    # One below the bound is fine.
    x, _ = tfadv.data.load_numpy(split="train", validation_size=9_999)
    assert len(x) == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"batch_size": "64"}, "batch_size='64'"),
        ({"shuffle": "yes"}, "shuffle='yes'"),
        ({"augment": 1}, "augment=1"),
        ({"augment": {"flip": "no"}}, "flip='no'"),
        ({"repeat": None}, "repeat=None"),
    ],
)
def test_type_errors(kwargs, message):
    with pytest.raises(TypeError) as info:
        tfadv.data.load(**kwargs)
    assert message in str(info.value)
