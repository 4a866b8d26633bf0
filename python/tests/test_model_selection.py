"""softreg's estimators in scikit-learn's model selection, as users run them: GridSearchCV and
cross_val_score with n_jobs=2 (joblib's loky workers: X reaches each fit pickled), arrays read
back by joblib.load and pickle, and n_jobs with scikit-learn's meaning (None is one thread unless
a joblib context says otherwise; -1 every core)."""
import os
import pickle

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, cross_val_score

import softreg
from softreg._linear import _threads

ESTIMATORS = [
    lambda: softreg.LogisticRegression(max_iter=200),
    lambda: softreg.SoftmaxRegression(epochs=3, batch_size=32),
]


def iris():
    X, y = load_iris(return_X_y=True)
    return X / X.max(axis=0), y


@pytest.mark.parametrize("make", ESTIMATORS)
def test_grid_search_in_two_worker_processes_gives_the_one_process_result(make):
    X, y = iris()
    grid = {"C": [0.1, 1.0]} if isinstance(make(), softreg.LogisticRegression) else {"lr": [0.05, 0.2]}
    one = GridSearchCV(make(), grid, cv=3, n_jobs=1).fit(X, y)
    two = GridSearchCV(make(), grid, cv=3, n_jobs=2).fit(X, y)
    assert np.all(np.isfinite(two.cv_results_["mean_test_score"]))
    np.testing.assert_array_equal(two.cv_results_["mean_test_score"],
                                  one.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(two.best_estimator_.coef_, one.best_estimator_.coef_)


def test_cross_val_score_in_two_worker_processes_on_sparse_rows():
    X, y = iris()
    X = sp.csr_matrix(X)
    scores = cross_val_score(softreg.LogisticRegression(), X, y, cv=3, n_jobs=2,
                             error_score="raise")
    np.testing.assert_array_equal(
        scores, cross_val_score(softreg.LogisticRegression(), X, y, cv=3, n_jobs=1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_arrays_read_back_by_pickle_and_joblib_are_taken(tmp_path, dtype):
    X, y = iris()
    X = X.astype(dtype)
    want = softreg.LogisticRegression().fit(X, y).coef_
    unpickled = pickle.loads(pickle.dumps(X))
    np.testing.assert_array_equal(softreg.LogisticRegression().fit(unpickled, y).coef_, want)
    joblib.dump(X, tmp_path / "X.joblib")
    loaded = joblib.load(tmp_path / "X.joblib")
    np.testing.assert_array_equal(softreg.LogisticRegression().fit(loaded, y).coef_, want)
    csr = pickle.loads(pickle.dumps(sp.csr_matrix(X)))
    np.testing.assert_array_equal(softreg.LogisticRegression().fit(csr, y).coef_,
                                  softreg.LogisticRegression().fit(sp.csr_matrix(X), y).coef_)


def test_big_endian_values_are_converted_not_misread():
    X, y = iris()
    swapped = X.astype(">f8")
    np.testing.assert_allclose(softreg.LogisticRegression().fit(swapped, y).coef_,
                               softreg.LogisticRegression().fit(X, y).coef_, rtol=1e-6)


def test_n_jobs_has_scikit_learns_meaning():
    cores = os.cpu_count()
    assert _threads(None) == 1
    assert _threads(1) == 1
    assert _threads(3) == 3
    assert _threads(-1) == min(cores, 256)
    assert _threads(-2) == max(1, cores - 1)
    with joblib.parallel_backend("threading", n_jobs=2):
        assert _threads(None) == 2
        assert _threads(1) == 1


@pytest.mark.parametrize("bad", [0, 257, 10**6, 1.5, "2", True])
def test_n_jobs_out_of_range_is_a_value_error_naming_it(bad):
    X, y = iris()
    for est in (softreg.LogisticRegression(n_jobs=bad), softreg.SoftmaxRegression(n_jobs=bad)):
        with pytest.raises(ValueError, match=r"^n_jobs must be None, a whole number from 1 to 256"):
            est.fit(X, y)
