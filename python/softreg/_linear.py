"""softreg.LogisticRegression: scikit-learn's LogisticRegression, same parameters and meaning,
fitted by softreg's C++ solvers (docs/api.md)."""
import numbers
import warnings

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from . import _core
from ._params import (FLOAT_MAX, check_bool, check_choice, check_class_weight, check_classes,
                      check_documents, check_int, check_real, check_seed)

# softreg train's limits (tools/softreg/train.cpp): --max-iter, --lbfgs-memory, --epochs,
# --batch-size; SoftmaxRegression's are in _softmax.py.
MAX_ITER = 100_000_000
MAX_LBFGS_MEMORY = 1000
MAX_EPOCHS = 1_000_000
MAX_BATCH_SIZE = 2**31


def _core_input(X):
    """X as softreg._core takes it: a dense array as it is, a CSR matrix as (indptr, indices,
    data) with its shape. Nothing is copied here; the C++ side reads float32 C-order arrays and
    CSR with int64 indptr, int32 indices and float32 data in place, and converts the rest once."""
    if sp.issparse(X):
        return (X.indptr, X.indices, X.data), X.shape
    return X, None


def _documents_as_rows(est, X):
    """For a text model (softreg train --text, loaded by softreg.load): documents (a string or
    a list of strings) become the model's hashed word n-gram features, as softreg predict makes
    them; anything else is returned as it is."""
    note = getattr(est, "text_features_", None)
    if note is None:
        return X
    if isinstance(X, str):
        X = [X]
    if isinstance(X, (list, tuple, np.ndarray)) and len(X) and all(isinstance(d, str) for d in X):
        check_documents("X", X)
        indptr, indices, data, columns = _core.text_rows(list(X), note)
        return sp.csr_matrix((data, indices, indptr), shape=(len(X), columns))
    return X


def _as_model_reads(est, X):
    """X as a model loaded from a file reads it: times its input scale (1/255 for images), then
    standardised when it was trained so (docs/formats.md); unchanged for a model fitted here."""
    scale = getattr(est, "input_scale_", 1.0)
    mean = getattr(est, "input_mean_", None)
    std = getattr(est, "input_std_", None)
    if scale == 1.0 and mean is None:
        return X
    if sp.issparse(X):
        if mean is not None and np.any(mean != 0):
            raise ValueError("this model centres its features: give X as a dense array")
        factor = np.full(X.shape[1], scale) / (std if std is not None else 1.0)
        return sp.csr_matrix(X.multiply(factor.reshape(1, -1)))
    X = X * scale
    if mean is not None:
        X = (X - mean) / std
    return X


_MAX_THREADS = 256  # the C++ pool's limit, and the CLI's --threads


def _threads(n_jobs):
    """n_jobs to softreg's threads, with scikit-learn's (joblib's) meaning: None is 1, unless
    inside a joblib.parallel_backend (parallel_config) context that says how many; -1 is every
    core, -2 all but one, ...; a whole number >= 1 is that many. Results do not depend on it."""
    if n_jobs is not None and (not isinstance(n_jobs, numbers.Integral)
                               or isinstance(n_jobs, (bool, np.bool_)) or n_jobs == 0
                               or n_jobs > _MAX_THREADS):
        raise ValueError(f"n_jobs must be None, a whole number from 1 to {_MAX_THREADS}, or -1 "
                         f"(every core), -2 (all but one), ...; got {n_jobs!r}")
    return max(1, min(int(joblib.effective_n_jobs(n_jobs)), _MAX_THREADS))


class _Scoring:
    """What both estimators do with a fitted coef_ and intercept_: scores, probabilities,
    classes and the model file. decision_function is each estimator's own."""

    def _scores(self, X, what):
        check_is_fitted(self)
        X = _documents_as_rows(self, X)
        X = self._validate_data(X, accept_sparse="csr", dtype=[np.float64, np.float32],
                                reset=False)
        X = _as_model_reads(self, X)
        data, shape = _core_input(X)
        return _core.decision_function(data, shape, self.coef_, self.intercept_,
                                       len(self.classes_), _threads(self.n_jobs), what)

    def predict_proba(self, X):
        return self._scores(X, "proba")

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        scores = self.decision_function(X)
        index = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
        return self.classes_[index]

    def save(self, path):
        """Writes the fitted model as a softreg model file (safetensors, docs/formats.md) that
        `softreg eval`, `predict` and `show` read, and softreg.load reads back."""
        check_is_fitted(self)
        from ._io import save
        save(self, path)


class LogisticRegression(_Scoring, ClassifierMixin, BaseEstimator):
    """Logistic regression (two classes) and softmax regression (more), fitted to the optimum of
    scikit-learn's objective

        C * sum_i s_i * loss_i + 1/2 * ||W||^2          (the intercept is not penalised)

    with s_i the sample weight times the class weight: the same minimiser as scikit-learn's
    LogisticRegression with multi_class="auto" (one weight vector for two classes, the
    multinomial model for more). Parameters have scikit-learn's meaning and defaults:

    penalty : "l2" or None
    C : float > 0, the inverse of the penalty's strength
    tol : the solver stops when n * max|gradient of the mean objective| <= tol, scikit-learn's
        test for lbfgs
    max_iter : the most solver iterations
    fit_intercept : False holds the intercept at 0 (lbfgs and newton)
    class_weight : None, "balanced" or {class: weight}
    random_state : seeds solver="sgd" (the exact solvers are deterministic): None (0), a whole
        number from 0 to 2**64 - 1, or a numpy RandomState, from which a seed is drawn
    solver : "lbfgs" (default), "newton" (Newton-CG, liblinear's preconditioner) or "sgd" (the
        lesson's minibatch SGD: epochs, batch_size, lr, momentum below; it approximates the
        optimum)
    warm_start : start from the last fit's coef_ and intercept_
    n_jobs : threads, with scikit-learn's meaning: None is 1 (unless inside a joblib
        parallel_backend context), -1 every core. Results are bit-identical for every value.
    lbfgs_memory, epochs, batch_size, lr, momentum : softreg's own

    Attributes: classes_, coef_ (1 x n_features for two classes), intercept_, n_features_in_,
    feature_names_in_ (when X has string column names), n_iter_ (array of one entry).
    """

    def __init__(self, penalty="l2", *, C=1.0, tol=1e-4, max_iter=100, fit_intercept=True,
                 class_weight=None, random_state=None, solver="lbfgs", warm_start=False,
                 n_jobs=None, lbfgs_memory=10, epochs=10, batch_size=256, lr=0.1,
                 momentum=0.0):
        self.penalty = penalty
        self.C = C
        self.tol = tol
        self.max_iter = max_iter
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.lbfgs_memory = lbfgs_memory
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum

    def _check_params(self):
        """The parameters as _core.fit takes them (Python ints, floats and bools), or
        ValueError naming the first bad one (_params); the SGD ones are checked for every
        solver."""
        p = {"penalty": check_choice("penalty", self.penalty, ("l2", None, "none")),
             "solver": check_choice("solver", self.solver, ("lbfgs", "newton", "sgd")),
             "C": check_real("C", self.C, 0, low_open=True),
             "tol": check_real("tol", self.tol, 0, low_open=True),
             "max_iter": check_int("max_iter", self.max_iter, 1, MAX_ITER),
             "fit_intercept": check_bool("fit_intercept", self.fit_intercept),
             "class_weight": check_class_weight("class_weight", self.class_weight),
             "warm_start": check_bool("warm_start", self.warm_start),
             "lbfgs_memory": check_int("lbfgs_memory", self.lbfgs_memory, 1, MAX_LBFGS_MEMORY),
             "epochs": check_int("epochs", self.epochs, 1, MAX_EPOCHS),
             "batch_size": check_int("batch_size", self.batch_size, 1, MAX_BATCH_SIZE),
             "lr": check_real("lr", self.lr, 0, FLOAT_MAX, low_open=True),
             "momentum": check_real("momentum", self.momentum, 0, FLOAT_MAX)}
        # A RandomState seeds solver="sgd" (a seed drawn from it); the exact solvers use none.
        if isinstance(self.random_state, np.random.RandomState) and p["solver"] != "sgd":
            p["seed"] = 0
        else:
            p["seed"] = check_seed("random_state", self.random_state, random_state=True)
        if not p["fit_intercept"] and p["solver"] == "sgd":
            raise ValueError("fit_intercept=False is for solver='lbfgs' and 'newton'")
        p["threads"] = _threads(self.n_jobs)
        return p

    def fit(self, X, y, sample_weight=None):
        p = self._check_params()
        X, y = self._validate_data(X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
                                   y_numeric=False)
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        check_classes("y", len(classes))
        if len(classes) < 2:
            raise ValueError("This solver needs samples of at least 2 classes in the data, but "
                             f"the data contains only one class: {classes[0]!r}")
        weights = None
        if sample_weight is not None or self.class_weight is not None:
            weights = _check_sample_weight(sample_weight, X, dtype=np.float64)
            if self.class_weight is not None:
                per_class = compute_class_weight(self.class_weight, classes=classes, y=y)
                weights = weights * per_class[y_index]
        coef = intercept = None
        if p["warm_start"] and getattr(self, "coef_", None) is not None and \
                np.array_equal(getattr(self, "classes_", None), classes) and \
                self.coef_.shape[1] == X.shape[1]:
            coef, intercept = self.coef_, self.intercept_
        data, shape = _core_input(X)
        w, b, n_iter, _objective, converged, _in_place, history, _kept = _core.fit(
            data, shape, y_index.astype(np.int32), len(classes), weights, p["solver"], p["C"],
            p["penalty"] == "l2", p["tol"], p["max_iter"], p["threads"], p["seed"], coef,
            intercept, p["epochs"], p["batch_size"], p["lr"], p["momentum"],
            fit_intercept=p["fit_intercept"], lbfgs_memory=p["lbfgs_memory"])
        self.classes_ = classes
        self.coef_ = w.astype(np.float64)
        self.intercept_ = b.astype(np.float64)
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        self.history_ = history
        # scikit-learn warns when max_iter ends the run; softreg's lbfgs also stops, converged
        # to the rounding of the objective, when no step lowers it any more: not a warning.
        if not converged and p["solver"] != "sgd" and n_iter >= p["max_iter"]:
            warnings.warn(f"{p['solver']} failed to converge (status: reached max_iter="
                          f"{p['max_iter']}). Increase the number of iterations (max_iter).",
                          ConvergenceWarning)
        return self

    def decision_function(self, X):
        """X coef_ᵀ + intercept_: (n,) for two classes, else (n, n_classes)."""
        scores = self._scores(X, "decision")
        return scores.ravel() if scores.shape[1] == 1 else scores
