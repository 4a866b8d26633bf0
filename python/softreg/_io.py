"""Model files (docs/formats.md) between Python and the command line."""
import json

import numpy as np

from . import _core
from ._linear import LogisticRegression


def save(est, path):
    classes = [str(c) for c in est.classes_]
    notes = {"trained_by": "softreg Python " + json.dumps(est.get_params(), default=str)}
    if getattr(est, "text_features_", None) is not None:
        notes["text_features"] = est.text_features_
    if hasattr(est, "feature_names_in_"):
        notes["feature_names"] = json.dumps([str(n) for n in est.feature_names_in_])
    if np.issubdtype(np.asarray(est.classes_).dtype, np.integer):
        notes["python_classes"] = "int"
    mean = getattr(est, "input_mean_", None)
    std = getattr(est, "input_std_", None)
    shape = getattr(est, "input_shape_", None) or [int(est.coef_.shape[1])]
    _core.save_model(str(path), est.coef_, est.intercept_, classes, list(shape),
                     float(getattr(est, "input_scale_", 1.0)),
                     [] if mean is None else list(map(float, mean)),
                     [] if std is None else list(map(float, std)), notes)


def load(path):
    """A fitted LogisticRegression from a softreg model file of any shape of input (images,
    tables, LIBSVM rows): classes_ are the file's class names (whole numbers when they all are),
    and predict reads X as the model was trained to (times its input scale, standardised when it
    was); a text model (softreg train --text) also takes documents, a list of strings, and
    turns them into its hashed word n-grams as softreg predict does."""
    m = _core.load_model(str(path))
    est = LogisticRegression()
    if len(m["class_names"]) == 2 and m["coef"].shape[0] == 2:  # the lesson's softmax model
        from ._softmax import SoftmaxRegression
        est = SoftmaxRegression()
    names = m["class_names"]
    if m["notes"].get("python_classes") == "int" or all(_whole(n) for n in names):
        est.classes_ = np.array([int(n) for n in names])
    else:
        est.classes_ = np.array(names, dtype=object)
    est.coef_ = np.asarray(m["coef"], dtype=np.float64)
    est.intercept_ = np.asarray(m["intercept"], dtype=np.float64)
    est.n_features_in_ = est.coef_.shape[1]
    est.n_iter_ = np.array([0], dtype=np.int32)
    est.input_shape_ = list(m["input_shape"])
    est.input_scale_ = float(m["input_scale"])
    if m["input_mean"]:
        est.input_mean_ = np.asarray(m["input_mean"], dtype=np.float64)
        est.input_std_ = np.asarray(m["input_std"], dtype=np.float64)
    est.notes_ = dict(m["notes"])
    if "text_features" in est.notes_:
        est.text_features_ = est.notes_["text_features"]
    return est


def _whole(text):
    try:
        int(text)
        return True
    except ValueError:
        return False
