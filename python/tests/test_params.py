"""Every parameter of both estimators is checked in Python, before softreg._core sees it: a bad
value raises ValueError whose message starts with the parameter's name and repeats the value
(not pybind11's dump of fit's signature); the limits are softreg train's."""
import json

import numpy as np
import pytest
from sklearn.datasets import load_iris

import softreg
from softreg import _core
from softreg._linear import _documents_as_rows


def iris():
    return load_iris(return_X_y=True)


LOGISTIC_BAD = {
    "penalty": ["l1", 2, "L2"],
    "C": [0, -1.0, np.inf, np.nan, "1", True],
    "tol": [0.0, -1e-4, np.inf, None],
    "max_iter": [0, -1, 2**40, 100_000_001, 1.5, 100.0, True, "100"],
    "fit_intercept": [1, "yes", None],
    "class_weight": ["auto", [1.0, 2.0], {0: -1.0}, {1: np.nan}, {2: "1"}],
    "random_state": [-1, 2**64, 1.5, "0", np.random.default_rng(0)],
    "solver": ["saga", None, "LBFGS"],
    "warm_start": [1, "no", None],
    "n_jobs": [0, 257, 1.5, "2"],
    "lbfgs_memory": [0, -3, 1001, 10.0, None],
    "epochs": [0, -1, 10**12, 1_000_001, 2.0],
    "batch_size": [0, -1, 2**31 + 1, 32.0],
    "lr": [0, -1, np.inf, np.nan, 1e39],
    "momentum": [-0.1, np.nan, np.inf, 1e39, "0"],
}

SOFTMAX_BAD = {
    "epochs": [0, -1, 10**12, 1_000_001, 2.0, True],
    "batch_size": [0, -1, 2**31 + 1, 256.0],
    "lr": [0, -1, np.inf, np.nan, 1e39, "0.1"],
    "momentum": [-0.1, np.nan, 1e39],
    "optimizer": ["adam", None],
    "schedule": ["exp", None],
    "step_every": [0, 1_000_001, 1.0],
    "step_gamma": [0, -0.5, 1.5, np.nan],
    "warmup": [-1, 2**40 + 1, 0.5],
    "average": [-1, 1_000_001, 2.0],
    "alpha": [-1e-3, np.inf, np.nan, None],
    "init": ["he", None],
    "early_stopping": [1, "yes", None],
    "validation_fraction": [0.0, 1.0, -0.1, np.nan, "0.1"],
    "n_iter_no_change": [0, 1_000_001, 5.0],
    "random_state": [-1, 2**64, 1.5, np.random.RandomState(0)],
    "warm_start": [1, "yes"],
    "n_jobs": [0, 257, 1.5],
}

CASES = [(softreg.LogisticRegression, name, value)
         for name, values in LOGISTIC_BAD.items() for value in values] + \
        [(softreg.SoftmaxRegression, name, value)
         for name, values in SOFTMAX_BAD.items() for value in values]


def _reached_core(*args, **kwargs):
    raise AssertionError("a bad parameter reached softreg._core.fit")


def test_every_parameter_is_listed():
    """The lists above cover every parameter of both estimators."""
    assert set(LOGISTIC_BAD) == set(softreg.LogisticRegression().get_params())
    assert set(SOFTMAX_BAD) == set(softreg.SoftmaxRegression().get_params())


@pytest.mark.parametrize("estimator, name, value", CASES,
                         ids=[f"{e.__name__}-{n}={v!r}" for e, n, v in CASES])
def test_a_bad_parameter_is_a_value_error_naming_it(estimator, name, value, monkeypatch):
    monkeypatch.setattr(_core, "fit", _reached_core)
    X, y = iris()
    with pytest.raises(ValueError, match=rf"^{name} ") as raised:
        estimator(**{name: value}).fit(X, y)
    if not isinstance(value, dict):  # a class_weight dict's message names the bad weight
        assert repr(value) in str(raised.value)
    if estimator is softreg.SoftmaxRegression:
        with pytest.raises(ValueError, match=rf"^{name} "):
            estimator(**{name: value}).partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize("estimator, params, message", [
    (softreg.LogisticRegression, {"max_iter": 2**40},
     "max_iter must be a whole number from 1 to 100000000, got 1099511627776"),
    (softreg.LogisticRegression, {"batch_size": -1},
     "batch_size must be a whole number from 1 to 2147483648, got -1"),
    (softreg.SoftmaxRegression, {"batch_size": -1},
     "batch_size must be a whole number from 1 to 2147483648, got -1"),
    (softreg.LogisticRegression, {"epochs": 10**12},
     "epochs must be a whole number from 1 to 1000000, got 1000000000000"),
    (softreg.SoftmaxRegression, {"epochs": 10**12},
     "epochs must be a whole number from 1 to 1000000, got 1000000000000"),
    (softreg.LogisticRegression, {"lbfgs_memory": 0},
     "lbfgs_memory must be a whole number from 1 to 1000, got 0"),
    (softreg.LogisticRegression, {"solver": "sgd", "epochs": 0},
     "epochs must be a whole number from 1 to 1000000, got 0"),
    (softreg.LogisticRegression, {"solver": "sgd", "lr": -1},
     "lr must be a finite number > 0 and <= 3.4e+38, got -1"),
    (softreg.LogisticRegression, {"C": -1}, "C must be a finite number > 0, got -1"),
    (softreg.SoftmaxRegression, {"optimizer": "adagrad", "momentum": 0.9},
     "momentum must be 0 with optimizer='adagrad'"),
    (softreg.SoftmaxRegression, {"epochs": 3, "average": 4},
     "average must be at most the epochs trained (3)"),
])
def test_the_cases_of_the_issue(estimator, params, message, monkeypatch):
    monkeypatch.setattr(_core, "fit", _reached_core)
    X, y = iris()
    with pytest.raises(ValueError) as raised:
        estimator(**params).fit(X, y)
    assert str(raised.value).startswith(message)


def test_partial_fit_trains_one_epoch_so_averages_from_at_most_the_first():
    X, y = iris()
    with pytest.raises(ValueError, match=r"^average must be at most the epochs trained \(1\)"):
        softreg.SoftmaxRegression(average=2).partial_fit(X, y, classes=[0, 1, 2])
    softreg.SoftmaxRegression(average=1).partial_fit(X, y, classes=[0, 1, 2])


@pytest.mark.parametrize("estimator", [softreg.LogisticRegression, softreg.SoftmaxRegression])
def test_more_classes_than_65536_is_a_value_error_naming_y(estimator, monkeypatch):
    monkeypatch.setattr(_core, "fit", _reached_core)
    X, y = np.zeros((70000, 1)), np.arange(70000)
    with pytest.raises(ValueError, match=r"^y has 70000 classes, at most 65536$"):
        estimator().fit(X, y)


def test_partial_fit_checks_the_number_of_classes_given(monkeypatch):
    monkeypatch.setattr(_core, "fit", _reached_core)
    clf = softreg.SoftmaxRegression()
    with pytest.raises(ValueError, match=r"^classes has 70000 classes, at most 65536$"):
        clf.partial_fit(np.zeros((2, 1)), [0, 1], classes=np.arange(70000))
    assert getattr(clf, "classes_", None) is None


def test_numpy_scalars_and_the_limits_themselves_are_accepted():
    X, y = iris()
    clf = softreg.SoftmaxRegression(epochs=np.int64(2), batch_size=np.uint16(32),
                                    lr=np.float32(0.1), momentum=np.float64(0.5),
                                    alpha=np.float32(0), step_gamma=np.float64(1.0),
                                    schedule="step", step_every=np.int8(1), warmup=np.int64(0),
                                    average=np.int32(1), early_stopping=np.bool_(False),
                                    random_state=np.uint64(2**64 - 1), warm_start=np.bool_(True),
                                    validation_fraction=np.float32(0.2))
    clf.fit(X, y)
    assert clf.n_iter_ == 2
    # partial_fit shuffles with the seed plus the calls so far: past 2**64 - 1 it wraps round.
    clf.partial_fit(X, y).partial_fit(X, y)
    assert clf.t_ == 2
    softreg.SoftmaxRegression(epochs=1, batch_size=2**31).fit(X, y)


def test_the_parameters_reach_the_core_as_python_numbers(monkeypatch):
    seen = {}

    def fit(*args, **kwargs):
        seen["args"], seen["kwargs"] = args, kwargs
        raise RuntimeError("stop here")

    monkeypatch.setattr(_core, "fit", fit)
    X, y = iris()
    clf = softreg.LogisticRegression(C=np.float32(0.5), tol=np.float64(1e-6),
                                     max_iter=np.int64(7), lbfgs_memory=np.int16(3),
                                     epochs=np.uint8(4), batch_size=np.int64(16),
                                     lr=np.float32(0.25), momentum=np.float64(0.5),
                                     fit_intercept=np.bool_(True), random_state=np.uint64(9))
    with pytest.raises(RuntimeError, match="stop here"):
        clf.fit(X, y)
    args, kwargs = seen["args"], seen["kwargs"]
    assert kwargs["lbfgs_memory"] == 3 and type(kwargs["lbfgs_memory"]) is int
    assert kwargs["fit_intercept"] is True
    # C, tol, max_iter, seed; epochs, batch_size, lr, momentum
    assert [type(a) for a in args[6:7] + args[8:10] + args[11:12] + args[14:18]] == \
        [float, float, int, int, int, int, float, float]
    assert args[9] == 7 and args[11] == 9 and args[14:16] == (4, 16)


def test_a_random_state_seeds_sgd_and_is_ignored_by_the_exact_solvers(monkeypatch):
    seeds = []

    def fit(*args, **kwargs):
        seeds.append(args[11])
        raise RuntimeError("stop here")

    monkeypatch.setattr(_core, "fit", fit)
    X, y = iris()
    for solver in ("sgd", "sgd", "lbfgs"):
        with pytest.raises(RuntimeError):
            softreg.LogisticRegression(solver=solver,
                                       random_state=np.random.RandomState(4)).fit(X, y)
    assert seeds[0] == seeds[1] and 0 <= seeds[0] < 2**63 and seeds[2] == 0
    with pytest.raises(RuntimeError):
        softreg.LogisticRegression(solver="sgd", random_state=None).fit(X, y)
    assert seeds[3] == 0


def test_lbfgs_memory_reaches_the_solver():
    """Needs a softreg._core whose fit takes lbfgs_memory (a build of python/module.cpp with it).
    On iris, to a tight tolerance, L-BFGS remembering one step takes several times the
    iterations of ten to the same optimum (softreg train on 120 of its rows, --tol 1e-6:
    1274 iterations against 183)."""
    X, y = iris()
    one = softreg.LogisticRegression(lbfgs_memory=1, tol=1e-6, max_iter=100000).fit(X, y)
    ten = softreg.LogisticRegression(lbfgs_memory=10, tol=1e-6, max_iter=100000).fit(X, y)
    assert one.n_iter_[0] != ten.n_iter_[0]
    assert one.n_iter_[0] > ten.n_iter_[0]
    np.testing.assert_allclose(one.coef_, ten.coef_, rtol=1e-3, atol=1e-4)


TEXT_NOTE = json.dumps({"tokenizer": "softreg-words-1", "ngrams": 1, "hash": "xxh3_64",
                        "seed": 0, "hash_bits": 4, "weighting": "binary", "norm": "l2"})


def text_model(tmp_path):
    """A text model as softreg.load reads one from `softreg train --text`: a model of 2**4
    hashed features with the text_features note, saved and loaded back."""
    rng = np.random.RandomState(0)
    clf = softreg.SoftmaxRegression(epochs=2).fit(rng.rand(20, 16), np.arange(20) % 2)
    clf.text_features_ = TEXT_NOTE
    clf.save(tmp_path / "text.safetensors")
    return softreg.load(tmp_path / "text.safetensors")


def test_a_document_that_is_not_utf8_is_a_value_error_naming_x_and_the_document(tmp_path):
    model = text_model(tmp_path)
    assert model.text_features_ == TEXT_NOTE
    assert model.predict(["good words", "more words"]).shape == (2,)
    # "\udcff": the byte 0xff read with errors="surrogateescape", which UTF-8 cannot encode.
    for documents in (["good words", "bad \udcff byte"],
                      np.array(["good words", "bad \udcff byte"])):
        with pytest.raises(ValueError, match=r"^X: document 1 is not valid UTF-8 .*"
                                             r"at character 4"):
            model.predict(documents)
    with pytest.raises(ValueError, match=r"^X: document 0 is not valid UTF-8"):
        model.predict_proba("\ud800")


def test_documents_as_rows_checks_utf8_before_the_core():
    class Stub:
        text_features_ = TEXT_NOTE

    rows = _documents_as_rows(Stub(), ["a b", "c"])
    assert rows.shape == (2, 16)
    with pytest.raises(ValueError, match=r"^X: document 2 is not valid UTF-8"):
        _documents_as_rows(Stub(), ["a", "b", "\udcff"])
