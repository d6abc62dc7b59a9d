"""Randomized smoothing: closed-form radii, abstention, the report, Gaussian-noise training."""

import keras
import numpy as np
import pytest
from scipy import stats

import tfadv
from tfadv.certification import CertificationReport, SmoothedClassifier, lower_confidence_bound

SHAPE = (4, 4, 1)


def linear_model(kernel, bias):
    model = keras.Sequential(
        [keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(len(bias))]
    )
    model.set_weights([np.asarray(kernel, "float32"), np.asarray(bias, "float32")])
    return model


def constant_model(label=2, classes=3):
    return linear_model(np.zeros((16, classes)), np.eye(classes)[label] * 5.0)


def first_pixel_model():
    """Class 1 when the first pixel exceeds 0.5, else class 0: a half-space in input space."""
    kernel = np.zeros((16, 2))
    kernel[0] = [-100.0, 100.0]
    return linear_model(kernel, [50.0, -50.0])


def images(first_pixel, n=1):
    x = np.full((n, *SHAPE), 0.5, "float32")
    x[:, 0, 0, 0] = first_pixel
    return x


def test_constant_model_radius_is_the_closed_form():
    sigma, n, alpha = 0.5, 200, 0.001
    smoothed = SmoothedClassifier(constant_model(), sigma, batch_size=64, seed=0)
    predictions, radii = smoothed.certify(images(0.5, 3), n0=10, n=n, alpha=alpha)
    p_lower = alpha ** (1.0 / n)  # Clopper-Pearson lower bound for n successes out of n
    np.testing.assert_array_equal(predictions, [2, 2, 2])
    np.testing.assert_allclose(radii, sigma * stats.norm.ppf(p_lower), rtol=1e-9)
    np.testing.assert_allclose(lower_confidence_bound(n, n, alpha), p_lower, rtol=1e-9)
    # Too few samples to reach pA >= 1/2 with alpha = 0.001 (alpha ** (1 / 9) < 0.5): abstain.
    predictions, radii = smoothed.certify(images(0.5), n0=10, n=9, alpha=alpha)
    assert predictions[0] == tfadv.certification.ABSTAIN and radii[0] == 0.0


def test_lower_bound_matches_the_beta_quantile_and_is_zero_without_successes():
    np.testing.assert_allclose(
        lower_confidence_bound([0, 30, 99], 100, 0.01),
        [0.0, stats.beta.ppf(0.01, 30, 71), stats.beta.ppf(0.01, 99, 2)],
    )


def test_abstention_rate_rises_as_n_falls():
    # First pixel 0.5 + 0.5 * 0.52 = 0.76 away: P(class 1) = Phi(0.52) ~ 0.7 at sigma 0.5.
    smoothed = SmoothedClassifier(first_pixel_model(), 0.5, batch_size=500, seed=1)
    x = images(0.76, 20)
    rates = []
    for n in (1000, 100, 20):
        predictions, _ = smoothed.certify(x, n0=20, n=n, alpha=0.001)
        assert set(predictions) <= {1, -1}
        rates.append(np.mean(predictions == -1))
    assert rates[0] <= rates[1] <= rates[2] and rates[2] > rates[0]


def test_predict_abstains_on_a_model_that_splits_fifty_fifty():
    smoothed = SmoothedClassifier(first_pixel_model(), 0.25, batch_size=500, seed=2)
    np.testing.assert_array_equal(smoothed.predict(images(0.5, 3), n=1000), [-1, -1, -1])
    np.testing.assert_array_equal(smoothed.predict(images(0.95, 2), n=1000), [1, 1])


def test_report_table_json_and_side_by_side(tmp_path):
    report = CertificationReport(
        sigma=0.25,
        n0=10,
        n=100,
        alpha=0.001,
        labels=[0, 1, 1, 2],
        predictions=[0, 1, -1, 0],
        radii=[0.6, 0.2, 0.0, 0.9],
    )
    assert report.curve([0.0, 0.5, 1.0]) == [(0.0, 0.5), (0.5, 0.25), (1.0, 0.0)]
    assert report.abstention_rate == 0.25
    assert CertificationReport.from_json(report.to_json()) == report
    assert "certified accuracy" in report.table()
    empirical = tfadv.evaluation.RobustnessReport(
        protocol="quick",
        protocol_version="1",
        variant="default",
        eps=0.5,
        norm="l2",
        attacks=[],
        accuracy_kind="individual",
        robust_accuracy=0.4,
        clean_accuracy=0.9,
        n_examples=4,
    )
    text = report.side_by_side(empirical)
    assert text.index("Certified") < text.index("Empirical")
    pytest.importorskip("matplotlib")
    report.plot(tmp_path / "certified.png")
    assert (tmp_path / "certified.png").stat().st_size > 0


def test_evaluate_returns_a_report_and_config_round_trips():
    smoothed = SmoothedClassifier(constant_model(label=1), 0.25, batch_size=50, seed=0)
    report = smoothed.evaluate(images(0.5, 2), [1, 0], n0=10, n=100)
    assert report.certified_accuracy(0.0) == 0.5 and report.n == 100
    same = SmoothedClassifier.from_config(smoothed.get_config())
    assert same.sigma == 0.25 and same.seed == 0


def test_errors_quote_the_value():
    with pytest.raises(ValueError, match="Received: sigma=0"):
        SmoothedClassifier(constant_model(), 0)
    with pytest.raises(ValueError, match="Received: alpha=1"):
        SmoothedClassifier(constant_model(), 0.1).certify(images(0.5), alpha=1)
    with pytest.raises(TypeError, match="Received: classifier="):
        SmoothedClassifier("model", 0.1)


def test_gaussian_augmentation_with_zero_sigma_is_clean_training():
    rng = np.random.default_rng(0)
    x, y = rng.random((32, *SHAPE)).astype("float32"), rng.integers(0, 3, 32)

    def net():
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(3)])

    reference = net()
    reference.compile(
        optimizer=keras.optimizers.SGD(0.5),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    reference.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    model = tfadv.methods.GaussianAugmentation(net(), sigma=0.0)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for got, expected in zip(model.classifier.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_gaussian_augmentation_noise_has_the_requested_scale():
    model = tfadv.methods.GaussianAugmentation(constant_model(), sigma=0.3, seed=4)
    model.compile(optimizer="sgd")
    x = np.full((64, *SHAPE), 0.5, "float32")
    adv = model.generate_adversarial(x, np.zeros(64, "int32"), model.current_sigma())
    noise = np.asarray(adv.x_adv) - x
    assert abs(noise.std() - 0.3) < 0.02 and abs(noise.mean()) < 0.02
    with pytest.raises(ValueError, match="Received: attack="):
        tfadv.methods.GaussianAugmentation(constant_model(), attack=tfadv.attacks.PGD())
