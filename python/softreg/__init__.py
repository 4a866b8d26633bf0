"""softreg: softmax (multinomial logistic) regression, exact and fast, with scikit-learn's API.

    from softreg import LogisticRegression      # where scikit-learn's was
    clf = LogisticRegression(C=1.0).fit(X, y)   # the same objective, the same optimum

The estimators are scikit-learn estimators (Pipelines, GridSearchCV, clone, pickle). The work is
done by softreg's C++ library (softreg._core) with the GIL released. docs/api.md.
"""
from . import info, ops
from ._io import load
from ._linear import LogisticRegression
from ._softmax import SoftmaxRegression

__all__ = ["LogisticRegression", "SoftmaxRegression", "load", "ops", "info"]
__version__ = "0.1.0"
