"""scikit-learn's own estimator checks (Debian's scikit-learn 1.2) on softreg's estimators, with
no expected failures: a check that cannot run here (pandas is not installed) is skipped."""
from sklearn.utils.estimator_checks import parametrize_with_checks

import softreg


@parametrize_with_checks([softreg.LogisticRegression(),
                          softreg.LogisticRegression(solver="newton")])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
