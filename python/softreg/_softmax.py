"""softreg.SoftmaxRegression: the lesson's model (softmax over K logits, for two classes too)
trained by the lesson's minibatch SGD, the loop `softreg train` runs (docs/api.md)."""
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets

from . import _core
from ._linear import MAX_BATCH_SIZE, MAX_EPOCHS, _core_input, _Scoring, _threads
from ._params import (FLOAT_MAX, SEED_MAX, check_bool, check_choice, check_classes, check_int,
                      check_real, check_seed)

# softreg train's limits (tools/softreg/train.cpp): --step-every, --warmup, --average,
# --early-stopping (n_iter_no_change: 0 there is "no early stopping", early_stopping=False here).
MAX_STEP_EVERY = 1_000_000
MAX_WARMUP = 2**40
MAX_AVERAGE = 1_000_000
MAX_N_ITER_NO_CHANGE = 1_000_000


def _class_index(classes, y, message):
    """Each label's index in `classes` (sorted); ValueError(message) for a label not in them."""
    index = np.searchsorted(classes, y)
    if np.any(index >= len(classes)) or \
            np.any(classes[np.minimum(index, len(classes) - 1)] != y):
        raise ValueError(message)
    return index


class SoftmaxRegression(_Scoring, ClassifierMixin, BaseEstimator):
    """Softmax regression by minibatch SGD, with the lesson's defaults.

    epochs, batch_size, lr, momentum : the lesson's loop (PyTorch's SGD meaning of momentum)
    optimizer : "sgd" or "adagrad"
    schedule : "constant", "step" (times step_gamma every step_every epochs), "cosine" or
        "linear", applied per step; warmup : the first steps scale the rate by (t + 1) / warmup
    average : average the weights from this epoch on (0: no averaging)
    alpha : weight decay λ on W (PyTorch's weight_decay on the mean loss)
    init : "lesson" (N(0, 0.01²) from random_state's generator, which then shuffles: the draws
        of `softreg train --seed`) or "zeros"
    early_stopping : hold out validation_fraction of the rows (stratified, as `softreg train
        --validation-split` does) and stop when their loss has not improved for
        n_iter_no_change epochs, keeping the weights of the epoch of the lowest validation loss
        (scikit-learn's SGDClassifier scores accuracy and keeps the last weights)
    random_state : the seed (a whole number; None is 0)
    warm_start : fit goes on from the last coef_ and intercept_
    n_jobs : threads, with scikit-learn's meaning: None is 1 (unless inside a joblib
        parallel_backend context), -1 every core. Results are bit-identical for every value.

    partial_fit(X, y, classes) trains one epoch on the rows given, from the current weights
    (the first call needs `classes`); each call shuffles with the seed plus the calls so far.
    partial_fit does not hold rows out (early_stopping is fit's).

    Fitted: classes_, coef_ (K, n_features), intercept_ (K,), n_iter_ (the epochs run), and
    history_: every epoch's mean training loss, training accuracy, learning rate, seconds,
    with fit's eval_set the test loss and accuracy, and with early_stopping the validation loss
    and accuracy (numpy arrays); best_epoch_ (1-based) is
    the epoch whose weights were kept with early_stopping, else the last.
    """

    def __init__(self, *, epochs=10, batch_size=256, lr=0.1, momentum=0.0, optimizer="sgd",
                 schedule="constant", step_every=1, step_gamma=0.1, warmup=0, average=0,
                 alpha=0.0, init="lesson", early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=5, random_state=0, warm_start=False, n_jobs=None):
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.momentum = momentum
        self.optimizer = optimizer
        self.schedule = schedule
        self.step_every = step_every
        self.step_gamma = step_gamma
        self.warmup = warmup
        self.average = average
        self.alpha = alpha
        self.init = init
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.warm_start = warm_start
        self.n_jobs = n_jobs

    def _check_params(self, epochs=None):
        """The parameters as _core.fit takes them (Python ints, floats and bools), or
        ValueError naming the first bad one (_params); `epochs` is what this call trains (fit:
        the parameter, partial_fit: 1), which average must not exceed."""
        p = {"epochs": check_int("epochs", self.epochs, 1, MAX_EPOCHS),
             "batch_size": check_int("batch_size", self.batch_size, 1, MAX_BATCH_SIZE),
             "lr": check_real("lr", self.lr, 0, FLOAT_MAX, low_open=True),
             "momentum": check_real("momentum", self.momentum, 0, FLOAT_MAX),
             "optimizer": check_choice("optimizer", self.optimizer, ("sgd", "adagrad")),
             "schedule": check_choice("schedule", self.schedule,
                                      ("constant", "step", "cosine", "linear")),
             "step_every": check_int("step_every", self.step_every, 1, MAX_STEP_EVERY),
             "step_gamma": check_real("step_gamma", self.step_gamma, 0, 1, low_open=True),
             "warmup": check_int("warmup", self.warmup, 0, MAX_WARMUP),
             "average": check_int("average", self.average, 0, MAX_AVERAGE),
             "alpha": check_real("alpha", self.alpha, 0),
             "init": check_choice("init", self.init, ("lesson", "zeros")),
             "early_stopping": check_bool("early_stopping", self.early_stopping),
             "validation_fraction": check_real("validation_fraction", self.validation_fraction,
                                               0, 1, low_open=True, high_open=True),
             "n_iter_no_change": check_int("n_iter_no_change", self.n_iter_no_change, 1,
                                           MAX_N_ITER_NO_CHANGE),
             "seed": check_seed("random_state", self.random_state),
             "warm_start": check_bool("warm_start", self.warm_start)}
        if p["optimizer"] == "adagrad" and p["momentum"] != 0:
            raise ValueError(f"momentum must be 0 with optimizer='adagrad' (AdaGrad has none), "
                             f"got {self.momentum!r}")
        trained = p["epochs"] if epochs is None else epochs
        if p["average"] > trained:
            raise ValueError(f"average must be at most the epochs trained ({trained}): averaging "
                             f"would start after the last one, got {self.average!r}")
        p["threads"] = _threads(self.n_jobs)
        return p

    def _train(self, X, y_index, p, epochs, seed, start, hold_out=False, test=None):
        data, shape = _core_input(X)
        test_data, test_shape, test_y = None, None, None
        if test is not None:
            (test_data, test_shape), test_y = _core_input(test[0]), test[1].astype(np.int32)
        coef, intercept = start if start is not None else (None, None)
        w, b, n_iter, _obj, _conv, _in_place, history, kept = _core.fit(
            data, shape, y_index.astype(np.int32), len(self.classes_), None, "sgd", 1.0, False,
            1e-4, 1, p["threads"], seed, coef, intercept, epochs, p["batch_size"], p["lr"],
            p["momentum"], softmax_always=True, lesson_init=p["init"] == "lesson",
            optimizer=p["optimizer"], schedule=p["schedule"], average=p["average"],
            weight_decay=p["alpha"], step_every=p["step_every"], step_gamma=p["step_gamma"],
            warmup=p["warmup"],
            validation_fraction=p["validation_fraction"] if hold_out else 0.0,
            early_stopping=p["n_iter_no_change"] if hold_out else 0,
            test_X=test_data, test_shape=test_shape, test_y=test_y)
        self.coef_ = w.astype(np.float64)
        self.intercept_ = b.astype(np.float64)
        self.history_ = history
        self.best_epoch_ = kept if hold_out else n_iter
        return n_iter

    def fit(self, X, y, eval_set=None):
        """Trains for `epochs` epochs. eval_set=(X_test, y_test): rows evaluated after every
        epoch, whose loss and accuracy go into history_ ("test_loss", "test_accuracy"), as the
        test set's do in `softreg train`'s epoch lines; they choose nothing."""
        p = self._check_params()
        X, y = self._validate_data(X, y, accept_sparse="csr", dtype=[np.float64, np.float32])
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        check_classes("y", len(classes))
        if len(classes) < 2:
            raise ValueError("SoftmaxRegression needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {classes[0]!r}")
        start = None
        if p["warm_start"] and getattr(self, "coef_", None) is not None and \
                np.array_equal(getattr(self, "classes_", None), classes):
            start = (self.coef_, self.intercept_)
        self.classes_ = classes
        test = None
        if eval_set is not None:
            X_test, y_test = eval_set
            X_test = self._validate_data(X_test, accept_sparse="csr",
                                         dtype=[np.float64, np.float32], reset=False)
            y_test = np.asarray(y_test)
            message = "eval_set: y_test must hold one of the classes of y for each row of X_test"
            if len(y_test) != X_test.shape[0]:
                raise ValueError(message)
            test = (X_test, _class_index(classes, y_test, message))
        self.n_iter_ = self._train(X, y_index, p, p["epochs"], p["seed"], start,
                                   hold_out=p["early_stopping"], test=test)
        self.t_ = 0
        return self

    def partial_fit(self, X, y, classes=None):
        p = self._check_params(epochs=1)
        first = getattr(self, "coef_", None) is None
        X, y = self._validate_data(X, y, accept_sparse="csr", dtype=[np.float64, np.float32],
                                   reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be given at the first call to partial_fit")
            given = np.unique(classes)
            check_classes("classes", len(given))
            if len(given) < 2:
                raise ValueError("classes must hold at least 2 classes")
            self.classes_ = given
            self.t_ = 0
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError("classes differ from those of the first call to partial_fit")
        y_index = _class_index(self.classes_, y, "y holds a label that is not one of classes")
        start = None if first else (self.coef_, self.intercept_)
        self._train(X, y_index, p, 1, (p["seed"] + self.t_) % (SEED_MAX + 1), start)
        self.t_ += 1
        self.n_iter_ = self.best_epoch_ = self.t_
        return self

    def decision_function(self, X):
        """The K logits X Wᵀ + b, (n, K); for two classes the difference z1 - z0, (n,), which
        is positive where class 1 is predicted (scikit-learn's shape)."""
        z = self._scores(X, "decision")
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z
