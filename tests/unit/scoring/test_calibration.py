import random

from scoring.calibration import agreement, fit_thresholds


def test_fit_recovers_separable_thresholds():
    rng = random.Random(1)
    truth = (0.3, 0.5, 0.7, 0.9)
    scores = [rng.random() for _ in range(400)]
    grades = [1 + sum(s >= t for t in truth) for s in scores]
    fitted = fit_thresholds(scores, grades, 5)
    assert agreement(scores, grades, fitted).exact == 1.0
    for f, t in zip(fitted, truth, strict=True):
        assert abs(f - t) < 0.02


def test_fit_is_never_worse_than_the_defaults():
    rng = random.Random(2)
    scores = [rng.random() for _ in range(200)]
    grades = [min(5, max(1, round(s * 5 + rng.gauss(0, 0.8)))) for s in scores]
    fitted = fit_thresholds(scores, grades, 5)
    default = (0.35, 0.55, 0.75, 0.95)
    assert agreement(scores, grades, fitted).exact >= agreement(scores, grades, default).exact
    assert list(fitted) == sorted(fitted)
