# Reference numbers for hepatrial.models.mmrm.fit_random_slope_lmm (R nlme::lme + emmeans).
#
# Run from the repository root:
#   Rscript tests/reference/lmm/lmm_reference.R
# Writes into tests/reference/lmm/:
#   data_<set>.csv          the exact analysis rows (long format, observed responses only) read by
#                           the Python tests; TIME is the numeric visit time (weeks) used as the
#                           random-slope covariate
#   ref_<set>_fit.csv       REML logLik, sigma^2, G (g11 = var intercept, g12 = cov, g22 = var
#                           slope), n obs / subjects, plus the REML log-likelihood recomputed here
#                           from the fitted parameters with the textbook formula (loglik_check)
#   ref_<set>_coef.csv      fixed effects (treatment contrasts, R column order) and SEs
#   ref_<set>_vcov.csv      vcov of the fixed effects, long format (i, j, value; 1-based, R order)
#   ref_<set>_lsmeans.csv   emmeans(fit, ~ ARM | AVISIT, mode = "asymptotic") (df = Inf, normal CI)
#   ref_<set>_diffs.csv     trt.vs.ctrl contrasts per visit (asymptotic), with CIs
#   ref_<set>_lmer.csv      lme4::lmer(..., REML = TRUE) logLik, sigma^2 and G (second opinion;
#                           lme4 bounds the Cholesky factor at 0, so it reaches a singular G exactly)
#   ref_<set>_lmer_coef.csv, ref_<set>_lmer_lsmeans.csv
#                           lmer fixed effects / SEs and emmeans(lmer.df = "asymptotic") LS means
# <set>:
#   syn    synthetic two-arm trial, 120 subjects, 5 visits (weeks 2, 4, 8, 12, 24), BASE + STRATUM,
#          random intercept and slope, monotone MAR dropout
#   pbc    Mayo PBC trial (pbcseq): change from baseline in log(bilirubin) at years 1..5,
#          TIME = 365 k / 7 weeks, covariate BASE = log(bilirubin) at day 0
#   sing   synthetic, random intercept only (no slope variance, no intercept-slope covariance):
#          the REML estimate of G is singular (boundary); nlme's log-Cholesky only approaches it
#          (optim stops at its iteration limit; returnObject = TRUE keeps the last iterate)
#
# nlme's control: opt = "optim" with tight tolerances (msTol = 1e-12, tolerance = 1e-10,
# niterEM = 0). With lmeControl(opt = "optim", msMaxIter = 500) alone nlme stops short on the
# PBC set (logLik -624.90428 instead of -624.90128, G off by ~1%).
#
# Model (all sets): lme(CHG ~ BASE [+ STRATUM] + ARM * AVISIT, random = ~ TIME | USUBJID,
#                       method = "REML"), treatment contrasts, ARM reference first, AVISIT in
# visit order. Versions used: see ref_session.txt written at the end.

suppressPackageStartupMessages({
  library(nlme)
  library(emmeans)
  library(lme4)
})

out_dir <- "tests/reference/lmm"
if (!dir.exists(out_dir)) stop("run from the repository root")
wcsv <- function(x, name) {
  write.csv(x, file.path(out_dir, name), row.names = FALSE, quote = TRUE)
}

# ---------------------------------------------------------------------------------------------
# Data set 1: synthetic random intercept + slope trial with MAR dropout
# ---------------------------------------------------------------------------------------------
make_syn <- function(seed, n_per_arm, weeks, G, sigma, strata, prefix, drop_icpt, drop_slope) {
  set.seed(seed)
  n <- 2 * n_per_arm
  nv <- length(weeks)
  arm <- rep(c("Placebo", "Active"), each = n_per_arm)
  stratum <- sample(strata, n, replace = TRUE)
  bs <- rnorm(n, 20, 4)
  U <- chol(G)
  b <- matrix(rnorm(2 * n), n, 2) %*% U
  vis_eff <- -0.08 * weeks
  trt_eff <- -0.06 * weeks
  str_eff <- setNames(seq(0, by = 0.8, length.out = length(strata)), strata)
  Y <- matrix(NA_real_, n, nv)
  for (k in 1:nv) {
    Y[, k] <- 1.5 - 0.1 * (bs - 20) + vis_eff[k] + (arm == "Active") * trt_eff[k] +
      str_eff[stratum] + b[, 1] + b[, 2] * weeks[k] + rnorm(n, 0, sigma)
  }
  obs <- matrix(TRUE, n, nv)
  for (k in 2:nv) {
    # MAR: the dropout hazard before visit k depends on the observed change at visit k-1
    p_drop <- plogis(drop_icpt + drop_slope * Y[, k - 1])
    obs[, k] <- obs[, k - 1] & !(runif(n) < p_drop)
  }
  d <- data.frame(
    USUBJID = rep(sprintf("%s-%03d", prefix, 1:n), each = nv),
    ARM = rep(arm, each = nv),
    STRATUM = rep(stratum, each = nv),
    AVISIT = rep(paste0("WEEK", weeks), times = n),
    VISITIDX = rep(1:nv, times = n),
    TIME = rep(weeks, times = n),
    BASE = rep(round(bs, 3), each = nv),
    CHG = round(as.vector(t(Y)), 4),
    keep = as.vector(t(obs))
  )
  d[d$keep, setdiff(names(d), "keep")]
}

syn_weeks <- c(2, 4, 8, 12, 24)
syn <- make_syn(20260501, 60, syn_weeks, G = matrix(c(4, 0.05, 0.05, 0.01), 2), sigma = 1.5,
                strata = c("S1", "S2"), prefix = "SYN", drop_icpt = -2.2, drop_slope = 0.25)
wcsv(syn, "data_syn.csv")

# ---------------------------------------------------------------------------------------------
# Data set 3: random intercept only (true slope variance 0), 4 visits, no stratum.
# The seed is one for which the REML slope variance is at the boundary (lme4: exactly singular).
# ---------------------------------------------------------------------------------------------
sing_weeks <- c(4, 8, 12, 24)
sing <- make_syn(7, 40, sing_weeks, G = matrix(c(4, 0, 0, 1e-12), 2), sigma = 2,
                 strata = "S1", prefix = "SNG", drop_icpt = -2.5, drop_slope = 0.2)
sing$STRATUM <- NULL
wcsv(sing, "data_sing.csv")

# ---------------------------------------------------------------------------------------------
# Data set 2: Mayo PBC trial (pbcseq), change from baseline in log(bilirubin) at years 1..5.
# Visit k: the visit with non-missing bilirubin whose `day` is nearest to 365*k, within +-182
# days (ties: the earlier day). Baseline: the day-0 value.
# ---------------------------------------------------------------------------------------------
# The data: survival::pbcseq (R package survival 3.5-3; lazy-loaded, so `data(pbcseq, package =
# "survival")` finds no file of that name: it lives in data(pbc)). This is the same table that
# earlier versions of this script read from a CSV export: compared in R, all.equal() is TRUE
# (sex is a factor here, a string there; age differs by < 5e-14 from the CSV's 15 digits), and
# id, trt, day and bili, the columns used here, are identical, so the analysis rows written
# below are byte-identical to the committed ones.
pbcseq <- as.data.frame(survival::pbcseq)
pbcseq <- pbcseq[!is.na(pbcseq$bili), ]
base <- pbcseq[pbcseq$day == 0, c("id", "trt", "bili")]
base$BASE <- log(base$bili)
base$bili <- NULL
rows <- list()
for (k in 1:5) {
  cand <- pbcseq[abs(pbcseq$day - 365 * k) <= 182 & pbcseq$day > 0, ]
  cand$dist <- abs(cand$day - 365 * k)
  cand <- cand[order(cand$id, cand$dist, cand$day), ]
  cand <- cand[!duplicated(cand$id), ]
  rows[[k]] <- data.frame(id = cand$id, day = cand$day, AVAL = log(cand$bili),
                          AVISIT = paste0("YEAR", k), VISITIDX = k, TIME = 365 * k / 7)
}
pbc <- do.call(rbind, rows)
pbc <- merge(base, pbc, by = "id")
pbc$CHG <- pbc$AVAL - pbc$BASE
pbc$USUBJID <- sprintf("PBC-%03d", pbc$id)
pbc$ARM <- ifelse(pbc$trt == 1, "D-penicillamine", "Placebo")
pbc <- pbc[order(pbc$USUBJID, pbc$VISITIDX),
           c("USUBJID", "ARM", "AVISIT", "VISITIDX", "TIME", "day", "BASE", "AVAL", "CHG")]
wcsv(pbc, "data_pbc.csv")

# ---------------------------------------------------------------------------------------------
# Fits
# ---------------------------------------------------------------------------------------------
# textbook REML log-likelihood at (beta-profiled) G, sigma^2:
#   -1/2 [ (n - p) log(2 pi) + log|V| + log|X' V^-1 X| + r' V^-1 r ]
reml_check <- function(d, X, G, s2) {
  y <- d$CHG
  p <- ncol(X)
  XtVX <- matrix(0, p, p); XtVy <- rep(0, p); yVy <- 0; ld <- 0
  for (ix in split(seq_len(nrow(d)), d$USUBJID)) {
    Z <- cbind(1, d$TIME[ix])
    V <- Z %*% G %*% t(Z) + s2 * diag(length(ix))
    W <- solve(V)
    Xi <- X[ix, , drop = FALSE]
    XtVX <- XtVX + t(Xi) %*% W %*% Xi
    XtVy <- XtVy + drop(t(Xi) %*% W %*% y[ix])
    yVy <- yVy + drop(t(y[ix]) %*% W %*% y[ix])
    ld <- ld + as.numeric(determinant(V)$modulus)
  }
  b <- solve(XtVX, XtVy)
  -0.5 * ((nrow(X) - p) * log(2 * pi) + ld + as.numeric(determinant(XtVX)$modulus) +
            yVy - sum(b * XtVy))
}

run_one <- function(d, tag, arms, visits, covariates, return_object = FALSE) {
  d$ARM <- factor(d$ARM, levels = arms)
  d$AVISIT <- factor(d$AVISIT, levels = visits)
  if (!is.null(d$STRATUM)) d$STRATUM <- factor(d$STRATUM)
  rhs <- paste(c(covariates, "ARM * AVISIT"), collapse = " + ")
  form <- as.formula(paste("CHG ~", rhs))
  fit <- lme(form, random = ~ TIME | USUBJID, data = d, method = "REML",
             control = lmeControl(opt = "optim", msMaxIter = 500, maxIter = 500, msMaxEval = 2000,
                                  tolerance = 1e-10, msTol = 1e-12, niterEM = 0,
                                  returnObject = return_object))
  fit$call$fixed <- form
  G <- as.matrix(getVarCov(fit))
  s2 <- fit$sigma^2
  X <- model.matrix(form, d)
  stopifnot(identical(colnames(X), names(fixef(fit))))
  wcsv(data.frame(logLik = as.numeric(logLik(fit)), sigma2 = s2,
                  g11 = G[1, 1], g12 = G[1, 2], g22 = G[2, 2],
                  n_obs = nrow(d), n_subjects = length(unique(d$USUBJID)),
                  loglik_check = reml_check(d, X, G, s2)),
       paste0("ref_", tag, "_fit.csv"))
  V <- as.matrix(vcov(fit))
  wcsv(data.frame(term = names(fixef(fit)), estimate = unname(fixef(fit)),
                  se = sqrt(diag(V))), paste0("ref_", tag, "_coef.csv"))
  wcsv(data.frame(i = rep(seq_len(nrow(V)), ncol(V)), j = rep(seq_len(ncol(V)), each = nrow(V)),
                  value = as.vector(V)), paste0("ref_", tag, "_vcov.csv"))
  emm <- emmeans(fit, ~ ARM | AVISIT, mode = "asymptotic", data = d)
  wcsv(as.data.frame(confint(emm)), paste0("ref_", tag, "_lsmeans.csv"))
  ct <- contrast(emm, method = "trt.vs.ctrl", ref = 1)
  ctd <- merge(as.data.frame(ct), as.data.frame(confint(ct))[, c("contrast", "AVISIT",
                                                              "asymp.LCL", "asymp.UCL")])
  wcsv(ctd, paste0("ref_", tag, "_diffs.csv"))

  # second opinion: lme4 (bounded Cholesky; reaches the boundary exactly)
  lf <- lmer(update(form, . ~ . + (TIME | USUBJID)), data = d, REML = TRUE,
             control = lmerControl(optimizer = "bobyqa", check.conv.singular = "ignore",
                                   optCtrl = list(rhobeg = 1e-3, rhoend = 1e-12, maxfun = 1e5)))
  Gl <- as.matrix(VarCorr(lf)$USUBJID)
  wcsv(data.frame(logLik = as.numeric(logLik(lf)), sigma2 = sigma(lf)^2,
                  g11 = Gl[1, 1], g12 = Gl[1, 2], g22 = Gl[2, 2], singular = isSingular(lf)),
       paste0("ref_", tag, "_lmer.csv"))
  Vl <- as.matrix(vcov(lf))
  wcsv(data.frame(term = names(fixef(lf)), estimate = unname(fixef(lf)), se = sqrt(diag(Vl))),
       paste0("ref_", tag, "_lmer_coef.csv"))
  wcsv(as.data.frame(confint(emmeans(lf, ~ ARM | AVISIT, lmer.df = "asymptotic", data = d))),
       paste0("ref_", tag, "_lmer_lsmeans.csv"))
  invisible(fit)
}

run_one(syn, "syn", c("Placebo", "Active"), paste0("WEEK", syn_weeks), c("BASE", "STRATUM"))
run_one(pbc, "pbc", c("Placebo", "D-penicillamine"), paste0("YEAR", 1:5), "BASE")
# at the boundary nlme's optim hits its iteration limit (log-Cholesky: the slope SD -> 0 only
# asymptotically); the last iterate is kept (returnObject) and lme4's fit is the better reference
run_one(sing, "sing", c("Placebo", "Active"), paste0("WEEK", sing_weeks), "BASE",
        return_object = TRUE)

writeLines(c(R.version.string,
             paste("nlme", packageVersion("nlme")),
             paste("emmeans", packageVersion("emmeans")),
             paste("lme4", packageVersion("lme4"))),
           file.path(out_dir, "ref_session.txt"))
cat("done\n")
