# Reference numbers for hepatrial.models.mmrm (R nlme::gls + emmeans).
#
# Run from the repository root:
#   Rscript tests/reference/mmrm/mmrm_reference.R
# Writes into tests/reference/mmrm/:
#   data_pbc_albumin.csv, data_synthetic.csv     the exact analysis rows (long format, observed
#                                                responses only) read by the Python tests
#   ref_<data>_<cov>_fit.csv                     logLik, AIC, sigma, n obs, covariance matrix entries
#   ref_<data>_<cov>_coef.csv                    fixed effects (treatment contrasts) and vcov diag
#   ref_<data>_<cov>_lsmeans.csv                 emmeans(~ ARM | AVISIT, mode = "satterthwaite")
#   ref_<data>_<cov>_lsmeans_prop.csv            same, weights = "proportional" (synthetic only)
#   ref_<data>_<cov>_diffs.csv                   trt.vs.ctrl contrasts per visit
#   ref_<data>_<cov>_type3.csv                   marginal (type III, contr.sum) Wald F tests
#   ref_<data>_<cov>_satt_exact.csv              deterministic Satterthwaite df for the UN fits
#                                                (see below)
# <cov> is un (corSymm + varIdent), cs (corCompSymm), ar1 (corAR1).
#
# Versions used: see ref_session.txt written at the end.

suppressPackageStartupMessages({
  library(nlme)
  library(emmeans)
  library(numDeriv)
})

out_dir <- "tests/reference/mmrm"
if (!dir.exists(out_dir)) stop("run from the repository root")
wcsv <- function(x, name) {
  write.csv(x, file.path(out_dir, name), row.names = FALSE, quote = TRUE)
}

# ---------------------------------------------------------------------------------------------
# Data set 1: Mayo PBC trial (pbcseq), yearly visits, change from baseline in serum albumin.
# Visit k (k = 1..4 years): the visit with non-missing albumin whose `day` is nearest to 365*k,
# within +-182 days (ties: the earlier day). Baseline: the day-0 albumin.
# ---------------------------------------------------------------------------------------------
pbcseq <- read.csv("/work/shared/data/pbc/pbcseq.csv")
pbcseq <- pbcseq[!is.na(pbcseq$albumin), ]
base <- pbcseq[pbcseq$day == 0, c("id", "trt", "albumin")]
names(base)[3] <- "BASE"
rows <- list()
for (k in 1:4) {
  cand <- pbcseq[abs(pbcseq$day - 365 * k) <= 182 & pbcseq$day > 0, ]
  cand$dist <- abs(cand$day - 365 * k)
  cand <- cand[order(cand$id, cand$dist, cand$day), ]
  cand <- cand[!duplicated(cand$id), ]
  rows[[k]] <- data.frame(id = cand$id, day = cand$day, AVAL = cand$albumin,
                          AVISIT = paste0("YEAR", k), VISITIDX = k)
}
pbc <- do.call(rbind, rows)
pbc <- merge(base, pbc, by = "id")
pbc$CHG <- pbc$AVAL - pbc$BASE
pbc$USUBJID <- sprintf("PBC-%03d", pbc$id)
pbc$ARM <- ifelse(pbc$trt == 1, "D-penicillamine", "Placebo")
pbc <- pbc[order(pbc$USUBJID, pbc$VISITIDX),
           c("USUBJID", "ARM", "AVISIT", "VISITIDX", "day", "BASE", "AVAL", "CHG")]
wcsv(pbc, "data_pbc_albumin.csv")

# ---------------------------------------------------------------------------------------------
# Data set 2: synthetic two-arm trial, 4 visits, 3 strata, UN covariance, ~20% MAR dropout
# (monotone; the probability of dropping out before visit k depends on the observed change at
# visit k-1, so the missingness is MAR given the observed data).
# ---------------------------------------------------------------------------------------------
set.seed(20260422)
n_per_arm <- 150
n <- 2 * n_per_arm
nv <- 4
sd_v <- c(4, 5, 6, 7)
corr <- outer(1:nv, 1:nv, function(i, j) 0.8^abs(i - j) * 0.9 + 0.1 * (i == j))
Sig <- diag(sd_v) %*% corr %*% diag(sd_v)
U <- chol(Sig)
arm <- rep(c("Placebo", "Active"), each = n_per_arm)
stratum <- sample(c("S1", "S2", "S3"), n, replace = TRUE, prob = c(0.5, 0.3, 0.2))
bs <- rnorm(n, 50, 8)
trt_eff <- c(-0.5, -1.5, -2.5, -3.5)
vis_eff <- c(-1, -2, -2.5, -3)
str_eff <- c(S1 = 0, S2 = 1.5, S3 = -1)
E <- matrix(rnorm(n * nv), n, nv) %*% U
Y <- matrix(NA_real_, n, nv)
for (k in 1:nv) {
  Y[, k] <- 5 - 0.1 * bs + vis_eff[k] + (arm == "Active") * trt_eff[k] + str_eff[stratum] + E[, k]
}
obs <- matrix(TRUE, n, nv)
for (k in 2:nv) {
  # logistic dropout hazard with intercept tuned to about 20% dropout by the last visit
  p_drop <- plogis(-2.35 + 0.15 * Y[, k - 1])
  drop <- obs[, k - 1] & (runif(n) < p_drop)
  obs[, k] <- obs[, k - 1] & !drop
}
syn <- data.frame(
  USUBJID = rep(sprintf("SYN-%03d", 1:n), each = nv),
  ARM = rep(arm, each = nv),
  STRATUM = rep(stratum, each = nv),
  AVISIT = rep(paste0("WEEK", c(4, 8, 12, 24)), times = n),
  VISITIDX = rep(1:nv, times = n),
  BASE = rep(round(bs, 3), each = nv),
  CHG = round(as.vector(t(Y)), 4),
  keep = as.vector(t(obs))
)
syn <- syn[syn$keep, setdiff(names(syn), "keep")]
wcsv(syn, "data_synthetic.csv")

# ---------------------------------------------------------------------------------------------
# Fits
# ---------------------------------------------------------------------------------------------
prep <- function(d, arms, visits) {
  d$ARM <- factor(d$ARM, levels = arms)
  d$AVISIT <- factor(d$AVISIT, levels = visits)
  if (!is.null(d$STRATUM)) d$STRATUM <- factor(d$STRATUM)
  d
}

# Deterministic Satterthwaite df for a contrast k (rows of K): proper partial derivatives of
# vcov(beta) w.r.t. nlme's "natural" variance parameters (those of apVar, incl. log sigma),
# computed numerically with numDeriv from an explicit rebuild of Sigma, and A = fit$apVar.
satt_exact <- function(fit, d, form, K) {
  X <- model.matrix(form, d)
  pars <- attr(fit$apVar, "Pars")
  nv <- nlevels(d$AVISIT)
  vnames <- attr(fit$modelStruct$varStruct, "groupNames")
  build_sigma <- function(p) {
    ncor <- nv * (nv - 1) / 2
    z <- p[1:ncor]
    r <- (exp(z) - 1) / (exp(z) + 1)  # inverse of log((1+r)/(1-r))
    R <- diag(nv)
    R[lower.tri(R)] <- r  # corSymm natural order: column-major lower triangle (1,2),(1,3),...
    R <- t(R)
    R[lower.tri(R)] <- t(R)[lower.tri(R)]
    lr <- p[(ncor + 1):(ncor + nv - 1)]
    delta <- c(1, exp(lr))
    names(delta) <- vnames
    delta <- delta[levels(d$AVISIT)]
    s <- exp(p[length(p)])
    s^2 * diag(delta) %*% R %*% diag(delta)
  }
  subj <- split(seq_len(nrow(d)), d$USUBJID)
  vb <- function(p) {
    S <- build_sigma(p)
    XtVX <- matrix(0, ncol(X), ncol(X))
    for (ix in subj) {
      v <- d$VISITIDX[ix]
      Xi <- X[ix, , drop = FALSE]
      XtVX <- XtVX + t(Xi) %*% solve(S[v, v, drop = FALSE], Xi)
    }
    solve(XtVX)
  }
  # check: the rebuilt covariance reproduces vcov(fit)
  chk <- max(abs(vb(pars) - vcov(fit)))
  if (chk > 1e-6 * max(abs(vcov(fit)))) stop("Sigma rebuild does not reproduce vcov: ", chk)
  f <- function(p) as.vector(K %*% vb(p) %*% t(K))
  J <- numDeriv::jacobian(function(p) diag(K %*% vb(p) %*% t(K)), pars)
  est <- diag(K %*% vcov(fit) %*% t(K))
  varest <- rowSums((J %*% fit$apVar) * J)
  2 * est^2 / varest
}

run_one <- function(d, dname, cov, arms, visits, covariates) {
  d <- prep(d, arms, visits)
  rhs <- paste(c(covariates, "ARM * AVISIT"), collapse = " + ")
  form <- as.formula(paste("CHG ~", rhs))
  corr <- switch(cov,
    un = corSymm(form = ~ VISITIDX | USUBJID),
    cs = corCompSymm(form = ~ VISITIDX | USUBJID),
    ar1 = corAR1(form = ~ VISITIDX | USUBJID))
  wts <- if (cov == "un") varIdent(form = ~ 1 | AVISIT) else NULL
  fit <- gls(form, data = d, correlation = corr, weights = wts, method = "REML",
             control = glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-10,
                                  msTol = 1e-10))
  fit$call$model <- form
  fit$call$correlation <- corr
  fit$call$weights <- wts
  tag <- paste0("ref_", dname, "_", cov)

  # fitted covariance matrix of a subject with all visits
  S <- getVarCov(fit, individual = names(which.max(table(d$USUBJID)))[1])
  fitrow <- data.frame(logLik = as.numeric(logLik(fit)), AIC = AIC(fit), sigma = fit$sigma,
                       n_obs = nrow(d), n_subjects = length(unique(d$USUBJID)),
                       df_resid = nrow(d) - length(coef(fit)),
                       varident_ref = if (cov == "un")
                         attr(fit$modelStruct$varStruct, "groupNames")[1] else NA)
  wcsv(fitrow, paste0(tag, "_fit.csv"))
  wcsv(data.frame(i = rep(seq_len(nrow(S)), ncol(S)), j = rep(seq_len(ncol(S)), each = nrow(S)),
                  value = as.vector(S)), paste0(tag, "_sigma.csv"))
  wcsv(data.frame(term = names(coef(fit)), estimate = unname(coef(fit)),
                  se = sqrt(diag(vcov(fit)))), paste0(tag, "_coef.csv"))

  set.seed(1)  # emmeans may fall back to a simulation-based gradient ("appx-satterthwaite")
  emm <- emmeans(fit, ~ ARM | AVISIT, mode = "satterthwaite", data = d)
  ls <- as.data.frame(confint(emm))
  wcsv(ls, paste0(tag, "_lsmeans.csv"))
  set.seed(1)
  ct <- contrast(emm, method = "trt.vs.ctrl", ref = 1)
  ctd <- merge(as.data.frame(ct), as.data.frame(confint(ct))[, c("contrast", "AVISIT",
                                                              "lower.CL", "upper.CL")])
  wcsv(ctd, paste0(tag, "_diffs.csv"))
  if (!is.null(d$STRATUM)) {
    set.seed(1)
    emp <- emmeans(fit, ~ ARM | AVISIT, mode = "satterthwaite", data = d,
                   weights = "proportional")
    wcsv(as.data.frame(confint(emp)), paste0(tag, "_lsmeans_prop.csv"))
  }

  # Type III (marginal) Wald F tests with sum-to-zero contrasts (= SAS type III for this model)
  op <- options(contrasts = c("contr.sum", "contr.poly"))
  fit_s <- update(fit)
  an <- anova(fit_s, type = "marginal")
  options(op)
  wcsv(data.frame(term = rownames(an), num_df = an$numDF, F = an$`F-value`,
                  den_df_resid = nrow(d) - length(coef(fit)), p_resid = an$`p-value`),
       paste0(tag, "_type3.csv"))

  if (cov == "un") {
    # same contrasts as the lsmeans / diffs, with a deterministic Satterthwaite df
    Lls <- emm@linfct
    Ldf <- ct@linfct
    dfs_ls <- satt_exact(fit, d, form, Lls)
    dfs_ct <- satt_exact(fit, d, form, Ldf)
    grid <- emm@grid
    cgrid <- ct@grid
    wcsv(rbind(
      data.frame(kind = "lsmean", ARM = as.character(grid$ARM), AVISIT = as.character(grid$AVISIT),
                 df = dfs_ls),
      data.frame(kind = "diff", ARM = as.character(cgrid$contrast),
                 AVISIT = as.character(cgrid$AVISIT), df = dfs_ct)),
      paste0(tag, "_satt_exact.csv"))
  }
  invisible(fit)
}

pbc_visits <- paste0("YEAR", 1:4)
syn_visits <- paste0("WEEK", c(4, 8, 12, 24))
for (cv in c("un", "cs", "ar1")) {
  run_one(pbc, "pbc", cv, c("Placebo", "D-penicillamine"), pbc_visits, "BASE")
  run_one(syn, "syn", cv, c("Placebo", "Active"), syn_visits, c("BASE", "STRATUM"))
}

writeLines(c(R.version.string,
             paste("nlme", packageVersion("nlme")),
             paste("emmeans", packageVersion("emmeans")),
             paste("numDeriv", packageVersion("numDeriv"))),
           file.path(out_dir, "ref_session.txt"))
cat("done\n")
