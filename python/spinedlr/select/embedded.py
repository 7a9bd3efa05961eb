"""LASSO (L1 logistic, CV over λ) and SVM-RFE (linear SVM, RFECV), and their combination.

LASSO follows glmnet's conventions so an R user can recognise the numbers: features are
standardised, the objective is mean log-loss + λ‖β‖₁ (sklearn's C = 1 / (n λ)), the λ path
runs from λ_max (first feature enters) down to λ_max · ``lambda_ratio`` on a log grid, the
CV criterion is binomial deviance, and ``lambda_rule`` picks λ_min (lowest mean CV
deviance) or λ_1se (largest λ within one standard error of it).

Combination (``combine``). The reference study says "LASSO and SVM-RFE with 10-fold cross-
validation were applied to narrow the feature set" (11 → 5) without saying how. The
default, ``"intersection"``, keeps the features both methods select — the common reading in
radiomics papers that report "features selected by both". If the intersection is empty,
the LASSO set is kept and a warning is logged. ``"union"`` keeps either's features;
``"sequential"`` runs SVM-RFE on the LASSO survivors.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import RFECV
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.validation import validate_data

from spinedlr.select.filters import _Selector, binary_outcome
from spinedlr.select.folds import check_events, stratified_folds

log = logging.getLogger(__name__)


def _l1_logit(C: float) -> LogisticRegression:
    # intercept_scaling large: liblinear penalises the intercept, glmnet does not.
    return LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", intercept_scaling=100.0,
                              max_iter=1000)


def _deviance(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-2 * np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


class LassoSelector(_Selector):
    """Keep the features with non-zero L1-logistic coefficients at the CV-chosen λ."""

    def __init__(self, folds: int = 10, lambda_rule: str = "min", n_lambda: int = 20,
                 lambda_ratio: float = 1e-2, random_state: int = 0):
        self.folds = folds
        self.lambda_rule = lambda_rule
        self.n_lambda = n_lambda
        self.lambda_ratio = lambda_ratio
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        y = binary_outcome(y)
        if self.lambda_rule not in ("min", "1se"):
            raise ValueError(f"lambda_rule must be 'min' or '1se', not {self.lambda_rule!r}")
        Z = StandardScaler().fit_transform(X)
        n = len(y)
        lam_max = np.abs(Z.T @ (y - y.mean())).max() / n
        lams = lam_max * np.logspace(0, np.log10(self.lambda_ratio), self.n_lambda)
        dev = np.empty((self.folds, len(lams)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for f, (tr, te) in enumerate(stratified_folds(y, self.folds, self.random_state)):
                sc = StandardScaler().fit(X[tr])
                ztr, zte = sc.transform(X[tr]), sc.transform(X[te])
                for i, lam in enumerate(lams):
                    m = _l1_logit(1.0 / (len(tr) * lam)).fit(ztr, y[tr])
                    dev[f, i] = _deviance(y[te], m.predict_proba(zte)[:, 1])
            cvm = dev.mean(axis=0)
            cvsd = dev.std(axis=0, ddof=1) / np.sqrt(self.folds)
            i_min = int(np.argmin(cvm))
            i_1se = int(np.flatnonzero(cvm <= cvm[i_min] + cvsd[i_min])[0])
            i = i_min if self.lambda_rule == "min" else i_1se
            self.lambda_min_, self.lambda_1se_ = float(lams[i_min]), float(lams[i_1se])
            self.cv_deviance_ = cvm
            self.lambdas_ = lams
            coef = _l1_logit(1.0 / (n * lams[i])).fit(Z, y).coef_.ravel()
            while not np.any(coef != 0) and i + 1 < len(lams):
                i += 1
                coef = _l1_logit(1.0 / (n * lams[i])).fit(Z, y).coef_.ravel()
            if i != (i_min if self.lambda_rule == "min" else i_1se):
                log.warning("LASSO: λ_%s kept no feature; used the largest λ keeping one (%.4g)",
                            self.lambda_rule, lams[i])
                self.adjusted_ = True
        self.lambda_ = float(lams[i])
        self.coef_ = coef
        self.support_ = self._keep_one(coef != 0, np.abs(Z.T @ (y - y.mean())), "LASSO")
        return self


class SvmRfeSelector(_Selector):
    """Recursive feature elimination with a linear SVM, number of features by CV AUC (RFECV)."""

    def __init__(self, folds: int = 10, C: float = 1.0, random_state: int = 0):
        self.folds = folds
        self.C = C
        self.random_state = random_state

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        y = binary_outcome(y)
        check_events(y, self.folds, "SVM-RFE")
        Z = StandardScaler().fit_transform(X)
        if Z.shape[1] == 1:
            self.support_ = np.ones(1, dtype=bool)
            return self
        rfe = RFECV(LinearSVC(C=self.C, max_iter=10000), step=1, min_features_to_select=1,
                    cv=StratifiedKFold(self.folds, shuffle=True, random_state=self.random_state),
                    scoring="roc_auc", n_jobs=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            rfe.fit(Z, y)
        self.ranking_ = rfe.ranking_
        self.support_ = rfe.support_
        return self


class LassoSvmRfe(_Selector):
    """Combine LASSO and SVM-RFE selections (see module docstring for the rules)."""

    def __init__(self, combine: str = "intersection", lasso: LassoSelector | None = None,
                 svm_rfe: SvmRfeSelector | None = None):
        self.combine = combine
        self.lasso = lasso
        self.svm_rfe = svm_rfe

    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        lasso = clone(self.lasso) if self.lasso is not None else LassoSelector()
        svm = clone(self.svm_rfe) if self.svm_rfe is not None else SvmRfeSelector()
        self.lasso_ = lasso.fit(X, y)
        if self.combine == "sequential":
            cols = np.flatnonzero(lasso.support_)
            self.svm_rfe_ = svm.fit(X[:, cols], y)
            self.support_ = np.zeros(X.shape[1], dtype=bool)
            self.support_[cols[svm.support_]] = True
            return self
        self.svm_rfe_ = svm.fit(X, y)
        if self.combine == "intersection":
            both = lasso.support_ & svm.support_
            if not both.any():
                log.warning("LASSO and SVM-RFE share no feature; keeping the LASSO set")
                self.adjusted_ = True
                both = lasso.support_.copy()
            self.support_ = both
        elif self.combine == "union":
            self.support_ = lasso.support_ | svm.support_
        else:
            raise ValueError(
                f"combine must be 'intersection', 'union' or 'sequential', not {self.combine!r}"
            )
        return self
