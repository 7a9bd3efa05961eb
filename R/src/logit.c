/* Logistic regression by Newton-Raphson with step halving, maximum likelihood or Firth's
 * penalised likelihood, for the thousands of small refits (p <= ~60 columns, a few hundred
 * patients) that bootstrap validation, calibration and profile intervals need. In R, each
 * iteration's X'WX through the reference BLAS and the interpreter overhead cost milliseconds
 * per fit; here a fit takes tens of microseconds.
 *
 * Why these rules: a step is applied only if it does not raise the (penalised) deviance
 * (step halving, 30 halvings at most); the fit is declared converged only when the score
 * statistic U'I^-1 U (the Newton decrement: the deviance the next step could still gain) is
 * below tol * (|deviance| + 0.1) and the last step was accepted (or, when no step can lower
 * the deviance, the score statistic is already below its rounding error). A fit that cannot lower the
 * deviance or runs out of iterations returns status 0; the R wrapper (fit_logit in design.R)
 * passes that on as converged = FALSE, never as a result. Firth's estimate maximises
 * loglik + log|I(beta)| / 2 (the Jeffreys-prior penalty, brglm2's AS_mean for the logit link):
 * the modified score is X'(y - p + h (1/2 - p)) with h the hat values of W^1/2 X. One
 * coefficient can be held fixed (profile likelihood); the penalty still uses all columns, as
 * profile penalised likelihood intervals require. */
#include <R.h>
#include <Rinternals.h>
#include <R_ext/Rdynload.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

static double deviance(const double *eta, const double *y, int n) {
  double d = 0.0;
  for (int i = 0; i < n; i++) {
    double a = fabs(eta[i]);
    d += log1p(exp(-a)) + (a + eta[i]) / 2.0 - y[i] * eta[i];
  }
  return 2.0 * d;
}

/* In-place Cholesky of the lower triangle of H (p x p, column-major); 0 if not positive definite. */
static int cholesky(double *H, int p) {
  for (int j = 0; j < p; j++) {
    double s = H[j + j * p];
    for (int k = 0; k < j; k++) s -= H[j + k * p] * H[j + k * p];
    if (!(s > 1e-13 * fabs(H[j + j * p]) && s > 1e-300)) return 0;
    double d = sqrt(s);
    H[j + j * p] = d;
    for (int i = j + 1; i < p; i++) {
      double t = H[i + j * p];
      for (int k = 0; k < j; k++) t -= H[i + k * p] * H[j + k * p];
      H[i + j * p] = t / d;
    }
  }
  return 1;
}

static void chol_solve(const double *L, int p, double *b) {
  for (int i = 0; i < p; i++) {
    double t = b[i];
    for (int k = 0; k < i; k++) t -= L[i + k * p] * b[k];
    b[i] = t / L[i + i * p];
  }
  for (int i = p - 1; i >= 0; i--) {
    double t = b[i];
    for (int k = i + 1; k < p; k++) t -= L[k + i * p] * b[k];
    b[i] = t / L[i + i * p];
  }
}

typedef struct {
  int n, p, firth, fixed;   /* fixed: index of the coefficient held constant, or -1 */
  const double *X, *y;
  double *w, *r, *H, *L, *g, *z;
} Work;

/* At linear predictor eta: weights, (modified) residuals and the information X'WX of the
 * free columns in L (Cholesky factor). Returns the (penalised) deviance, or NAN when the
 * information is singular. */
static double evaluate(Work *s, const double *eta) {
  int n = s->n, p = s->p;
  const double *X = s->X;
  /* No floor on the weights: along a separating direction Newton must keep its pace of about
   * one unit per iteration (mle_direction() in design.R relies on it); 1 - p is computed
   * without cancellation. */
  for (int i = 0; i < n; i++) {
    double e = exp(-fabs(eta[i])), small = e / (1.0 + e);
    double pr = eta[i] >= 0 ? 1.0 - small : small, qr = eta[i] >= 0 ? small : 1.0 - small;
    s->w[i] = pr * qr;
    s->r[i] = eta[i] >= 0 ? s->y[i] - 1.0 + small : s->y[i] - small;
  }
  for (int j = 0; j < p; j++) {
    const double *xj = X + (size_t) j * n;
    for (int k = j; k < p; k++) {
      const double *xk = X + (size_t) k * n;
      double h = 0.0;
      for (int i = 0; i < n; i++) h += xj[i] * s->w[i] * xk[i];
      s->H[k + j * p] = h;
    }
  }
  double dev = deviance(eta, s->y, n);
  if (s->firth) {
    for (int j = 0; j < p; j++)
      for (int k = j; k < p; k++) s->L[k + j * p] = s->H[k + j * p];
    if (!cholesky(s->L, p)) return NAN;
    double logdet = 0.0;
    for (int j = 0; j < p; j++) logdet += 2.0 * log(s->L[j + j * p]);
    for (int i = 0; i < n; i++) {
      double q = 0.0;
      for (int a = 0; a < p; a++) { /* z = L^-1 x_i */
        double t = X[i + (size_t) a * n];
        for (int k = 0; k < a; k++) t -= s->L[a + k * p] * s->z[k];
        s->z[a] = t / s->L[a + a * p];
        q += s->z[a] * s->z[a];
      }
      double pr = 1.0 / (1.0 + exp(-eta[i]));
      s->r[i] += s->w[i] * q * (0.5 - pr);
    }
    dev -= logdet;
  }
  /* Information of the free columns (drop the fixed one) into L, then factor it. */
  int q = 0;
  for (int j = 0; j < p; j++) {
    if (j == s->fixed) continue;
    int m = 0;
    for (int k = 0; k < p; k++) {
      if (k == s->fixed) continue;
      if (k >= j) s->L[m + q * p] = s->H[k + j * p];
      m++;
    }
    q++;
  }
  /* The block above is stored with leading dimension p; compact it to leading dimension q. */
  for (int j = 0; j < q; j++)
    for (int k = j; k < q; k++) s->L[k + j * q] = s->L[k + j * p];
  if (!cholesky(s->L, q)) return NAN;
  q = 0;
  for (int j = 0; j < p; j++) {
    if (j == s->fixed) continue;
    const double *xj = X + (size_t) j * n;
    double gj = 0.0;
    for (int i = 0; i < n; i++) gj += xj[i] * s->r[i];
    s->g[q++] = gj;
  }
  return dev;
}

/* Returns list(coef, status, eta, deviance): status 1 converged, 0 not converged (iteration
 * limit, or no step lowered the deviance), -1 singular information. `deviance` is the
 * penalised deviance -2 loglik - log|I| for Firth fits. */
SEXP spinedlr_fit_logit(SEXP X_, SEXP y_, SEXP start_, SEXP maxit_, SEXP tol_, SEXP firth_, SEXP fixed_) {
  int n = nrows(X_), p = ncols(X_);
  const double *X = REAL(X_);
  int maxit = asInteger(maxit_);
  double tol = asReal(tol_);
  Work s = {n, p, asInteger(firth_), asInteger(fixed_), X, REAL(y_),
            (double *) R_alloc(n, sizeof(double)), (double *) R_alloc(n, sizeof(double)),
            (double *) R_alloc((size_t) p * p, sizeof(double)),
            (double *) R_alloc((size_t) p * p, sizeof(double)),
            (double *) R_alloc(p, sizeof(double)), (double *) R_alloc(p, sizeof(double))};
  int q = s.fixed >= 0 && s.fixed < p ? p - 1 : p;
  if (q == p) s.fixed = -1;
  SEXP coef = PROTECT(allocVector(REALSXP, p));
  SEXP eta_ = PROTECT(allocVector(REALSXP, n));
  double *beta = REAL(coef), *eta = REAL(eta_);
  double *eta_new = (double *) R_alloc(n, sizeof(double));
  double *step = (double *) R_alloc(p, sizeof(double));
  for (int j = 0; j < p; j++) beta[j] = REAL(start_)[j];
  for (int i = 0; i < n; i++) {
    double e = 0.0;
    for (int j = 0; j < p; j++) e += X[i + (size_t) j * n] * beta[j];
    eta[i] = e;
  }
  double dev = evaluate(&s, eta);
  int status = 0;
  for (int it = 0; it < maxit; it++) {
    if (!R_FINITE(dev)) {
      status = -1;
      break;
    }
    for (int j = 0; j < q; j++) step[j] = s.g[j];
    chol_solve(s.L, q, step);
    double score = 0.0;
    for (int j = 0; j < q; j++) score += step[j] * s.g[j];
    double limit = tol * (fabs(dev) + 0.1);
    int accepted = 0;
    double dev_new = dev;
    for (int half = 0; half <= 30; half++) {
      for (int i = 0; i < n; i++) {
        double e = eta[i];
        for (int j = 0, m = 0; j < p; j++) {
          if (j == s.fixed) continue;
          e += X[i + (size_t) j * n] * step[m++];
        }
        eta_new[i] = e;
      }
      dev_new = evaluate(&s, eta_new);
      /* "Not higher" up to rounding of the deviance itself. */
      if (R_FINITE(dev_new) && dev_new <= dev + 4.0 * DBL_EPSILON * (fabs(dev) + 1.0)) {
        accepted = 1;
        break;
      }
      for (int j = 0; j < q; j++) step[j] /= 2.0;
    }
    if (!accepted) {
      /* No step lowers the deviance: at the optimum to rounding (the next step could gain
       * less than the deviance's own rounding error) that is convergence; otherwise failure. */
      if (score < 1e-10 * (fabs(dev) + 1.0)) status = 1;
      break;
    }
    for (int j = 0, m = 0; j < p; j++) {
      if (j == s.fixed) continue;
      beta[j] += step[m++];
    }
    for (int i = 0; i < n; i++) eta[i] = eta_new[i];
    dev = dev_new;
    if (score < limit) {
      status = 1;
      break;
    }
  }
  SEXP out = PROTECT(allocVector(VECSXP, 4));
  SET_VECTOR_ELT(out, 0, coef);
  SET_VECTOR_ELT(out, 1, ScalarInteger(status));
  SET_VECTOR_ELT(out, 2, eta_);
  SET_VECTOR_ELT(out, 3, ScalarReal(dev));
  UNPROTECT(3);
  return out;
}

static const R_CallMethodDef call_methods[] = {
  {"spinedlr_fit_logit", (DL_FUNC) &spinedlr_fit_logit, 7},
  {NULL, NULL, 0}
};

void R_init_spinedlr(DllInfo *dll) {
  R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
  R_useDynamicSymbols(dll, FALSE);
}
