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
#   ref_<data>_<cov>_lsmeans_prop.csv            same, observed-margin weights for STRATUM (synthetic)
#   ref_<data>_<cov>_diffs.csv                   trt.vs.ctrl contrasts per visit
#   ref_<data>_<cov>_type3.csv                   marginal (type III, contr.sum) Wald F tests
#   ref_<data>_<cov>_satt_exact.csv              deterministic Satterthwaite df for the UN fits
#                                                with an accurate Hessian (see satt_exact below)
#   ref_<data>_un_kr_diffs.csv, ref_<data>_un_kr_type3.csv
#                                                Kenward-Roger (linear) SE/df of the differences
#                                                and F tests, independent R code (kr_linear)
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
# The data: survival::pbcseq (R package survival 3.5-3; lazy-loaded, so `data(pbcseq, package =
# "survival")` finds no file of that name: it lives in data(pbc)). This is the same table that
# earlier versions of this script read from a CSV export: compared in R, all.equal() is TRUE
# (sex is a factor here, a string there; age differs by < 5e-14 from the CSV's 15 digits), and
# id, trt, day and albumin, the columns used here, are identical, so the analysis rows written
# below are byte-identical to the committed ones.
pbcseq <- as.data.frame(survival::pbcseq)
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

# Deterministic Satterthwaite df for the contrasts in the rows of K:
#   df = 2 (k'Phi k)^2 / (g' A g),  g_j = d(k'Phi k)/d par_j,
# with par = nlme's "natural" variance parameters (corSymm: log((1+r)/(1-r)); varIdent: log SD
# ratios; log sigma), Phi rebuilt explicitly from par, g by numDeriv::jacobian and A the inverse
# of minus the numDeriv::hessian of the REML log-likelihood (also rebuilt explicitly; it
# reproduces logLik(fit)). Returned: df with this accurate A ("df") and with nlme's apVar
# ("df_apvar", what emmeans uses; apVar comes from nlme's fdHess, whose finite-difference
# Hessian is off by up to ~5% here).
satt_exact <- function(fit, d, form, K) {
  X <- model.matrix(form, d)
  y <- d$CHG
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
  pieces <- function(p) {
    S <- build_sigma(p)
    XtVX <- matrix(0, ncol(X), ncol(X))
    XtVy <- rep(0, ncol(X))
    yVy <- 0
    ld <- 0
    for (ix in subj) {
      v <- d$VISITIDX[ix]
      Si <- S[v, v, drop = FALSE]
      Wi <- solve(Si)
      Xi <- X[ix, , drop = FALSE]
      yi <- y[ix]
      XtVX <- XtVX + t(Xi) %*% Wi %*% Xi
      XtVy <- XtVy + drop(t(Xi) %*% Wi %*% yi)
      yVy <- yVy + sum(yi * (Wi %*% yi))
      ld <- ld + as.numeric(determinant(Si)$modulus)
    }
    list(XtVX = XtVX, XtVy = XtVy, yVy = yVy, ld = ld)
  }
  vb <- function(p) solve(pieces(p)$XtVX)
  reml <- function(p) {
    a <- pieces(p)
    b <- solve(a$XtVX, a$XtVy)
    -0.5 * (a$ld + a$yVy - sum(b * a$XtVy) + as.numeric(determinant(a$XtVX)$modulus) +
              (nrow(X) - ncol(X)) * log(2 * pi))
  }
  chk <- max(abs(vb(pars) - vcov(fit)))
  if (chk > 1e-6 * max(abs(vcov(fit)))) stop("Sigma rebuild does not reproduce vcov: ", chk)
  if (abs(reml(pars) - as.numeric(logLik(fit))) > 1e-6) stop("REML rebuild failed")
  A <- solve(-numDeriv::hessian(reml, pars))
  J <- numDeriv::jacobian(function(p) diag(K %*% vb(p) %*% t(K)), pars)
  est <- diag(K %*% vcov(fit) %*% t(K))
  list(df = 2 * est^2 / rowSums((J %*% A) * J),
       df_apvar = 2 * est^2 / rowSums((J %*% fit$apVar) * J))
}

# Kenward-Roger (1997), linear form (no second-derivative term), written out independently of
# the Python code: nlme's natural parametrisation, numDeriv derivatives of Sigma, W = inverse of
# minus the numDeriv Hessian of the REML log-likelihood. The linear-form adjustment does not
# depend on the parametrisation, so it must agree with hepatrial's (Cholesky parametrisation).
#   Phi_A = Phi + 2 Phi { sum_ij W_ij (Q_ij - P_i Phi P_j) } Phi
#   P_i = -X' V^-1 V_i V^-1 X,  Q_ij = X' V^-1 V_i V^-1 V_j V^-1 X
# df of one contrast: m = 2 / (a' W a), a_i = l' Phi P_i Phi l / l' Phi l; F tests: KR's m and
# lambda (as R mmrm h_kr_df), F* = lambda (L b)' (L Phi_A L')^-1 (L b) / c.
kr_linear <- function(fit, d, form, Ks, Ltests) {
  X <- model.matrix(form, d)
  y <- d$CHG
  pars <- attr(fit$apVar, "Pars")
  nv <- nlevels(d$AVISIT)
  vnames <- attr(fit$modelStruct$varStruct, "groupNames")
  build_sigma <- function(p) {
    ncor <- nv * (nv - 1) / 2
    z <- p[1:ncor]
    r <- (exp(z) - 1) / (exp(z) + 1)
    R <- diag(nv)
    R[lower.tri(R)] <- r
    R <- t(R)
    R[lower.tri(R)] <- t(R)[lower.tri(R)]
    delta <- c(1, exp(p[(ncor + 1):(ncor + nv - 1)]))
    names(delta) <- vnames
    delta <- delta[levels(d$AVISIT)]
    exp(p[length(p)])^2 * diag(delta) %*% R %*% diag(delta)
  }
  subj <- split(seq_len(nrow(d)), d$USUBJID)
  reml <- function(p) {
    S <- build_sigma(p)
    XtVX <- 0; XtVy <- 0; yVy <- 0; ld <- 0
    for (ix in subj) {
      v <- d$VISITIDX[ix]; Si <- S[v, v, drop = FALSE]; Wi <- solve(Si)
      Xi <- X[ix, , drop = FALSE]; yi <- y[ix]
      XtVX <- XtVX + t(Xi) %*% Wi %*% Xi; XtVy <- XtVy + drop(t(Xi) %*% Wi %*% yi)
      yVy <- yVy + sum(yi * (Wi %*% yi)); ld <- ld + as.numeric(determinant(Si)$modulus)
    }
    b <- solve(XtVX, XtVy)
    -0.5 * (ld + yVy - sum(b * XtVy) + as.numeric(determinant(XtVX)$modulus) +
              (nrow(X) - ncol(X)) * log(2 * pi))
  }
  W <- solve(-numDeriv::hessian(reml, pars))
  S <- build_sigma(pars)
  q <- length(pars)
  J <- numDeriv::jacobian(function(p) as.vector(build_sigma(p)), pars)
  dS <- lapply(seq_len(q), function(k) matrix(J[, k], nv, nv))
  pdim <- ncol(X)
  P <- replicate(q, matrix(0, pdim, pdim), simplify = FALSE)
  Q <- replicate(q * q, matrix(0, pdim, pdim), simplify = FALSE)
  XtVX <- matrix(0, pdim, pdim)
  for (ix in subj) {
    v <- d$VISITIDX[ix]; Wi <- solve(S[v, v, drop = FALSE]); Xi <- X[ix, , drop = FALSE]
    WX <- Wi %*% Xi
    XtVX <- XtVX + t(Xi) %*% WX
    G <- lapply(dS, function(D) D[v, v, drop = FALSE])
    for (i in seq_len(q)) {
      P[[i]] <- P[[i]] - t(WX) %*% G[[i]] %*% WX
      for (j in seq_len(q)) {
        Q[[(i - 1) * q + j]] <- Q[[(i - 1) * q + j]] + t(WX) %*% G[[i]] %*% Wi %*% G[[j]] %*% WX
      }
    }
  }
  Phi <- solve(XtVX)
  stopifnot(max(abs(Phi - vcov(fit))) < 1e-6 * max(abs(vcov(fit))))
  inner <- matrix(0, pdim, pdim)
  for (i in seq_len(q)) for (j in seq_len(q)) {
    inner <- inner + W[i, j] * (Q[[(i - 1) * q + j]] - P[[i]] %*% Phi %*% P[[j]])
  }
  PhiA <- Phi + 2 * Phi %*% inner %*% Phi
  one_d <- function(l) {
    v <- drop(t(l) %*% Phi %*% l)
    a <- sapply(P, function(Pi) drop(t(l) %*% Phi %*% Pi %*% Phi %*% l)) / v
    c(se = sqrt(drop(t(l) %*% PhiA %*% l)), df = 2 / drop(t(a) %*% W %*% a))
  }
  multi_d <- function(L) {
    nl <- nrow(L)
    Mm <- t(L) %*% solve(L %*% Phi %*% t(L)) %*% L
    Xs <- lapply(P, function(Pi) Mm %*% Phi %*% Pi %*% Phi)
    tr <- sapply(Xs, function(M) sum(diag(M)))
    a1 <- drop(t(tr) %*% W %*% tr)
    a2 <- 0
    for (i in seq_len(q)) for (j in seq_len(q)) a2 <- a2 + W[i, j] * sum(diag(Xs[[i]] %*% Xs[[j]]))
    b <- (a1 + 6 * a2) / (2 * nl)
    e_star <- 1 / (1 - a2 / nl)
    g <- ((nl + 1) * a1 - (nl + 4) * a2) / ((nl + 2) * a2)
    den <- 3 * nl + 2 - 2 * g
    c1 <- g / den; c2 <- (nl - g) / den; c3 <- (nl + 2 - g) / den
    v_star <- 2 / nl * (1 + c1 * b) / (1 - c2 * b)^2 / (1 - c3 * b)
    rho <- v_star / (2 * e_star^2)
    m <- 4 + (nl + 2) / (nl * rho - 1)
    lambda <- m / (e_star * (m - 2))
    est <- L %*% coef(fit)
    Fst <- drop(t(est) %*% solve(L %*% PhiA %*% t(L), est)) / nl
    c(F = lambda * Fst, num_df = nl, den_df = m)
  }
  list(one = t(apply(Ks, 1, one_d)), multi = t(sapply(Ltests, multi_d)))
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
    # observed-margin weights given explicitly: emmeans' weights = "proportional" uses the
    # varIdent variance weights as frequency weights for gls fits with varIdent (UN here), so
    # the observation proportions (SAS OBSMARGINS) are passed as a numeric vector instead.
    emp <- emmeans(fit, ~ ARM | AVISIT, mode = "satterthwaite", data = d,
                   weights = as.numeric(table(d$STRATUM)))
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
                 df = dfs_ls$df, df_apvar = dfs_ls$df_apvar),
      data.frame(kind = "diff", ARM = as.character(cgrid$contrast),
                 AVISIT = as.character(cgrid$AVISIT), df = dfs_ct$df, df_apvar = dfs_ct$df_apvar)),
      paste0(tag, "_satt_exact.csv"))
    # Kenward-Roger (linear) for the per-visit differences and two type III terms
    cn <- names(coef(fit))
    Lint <- diag(length(cn))[grepl(":", cn), , drop = FALSE]
    Lbase <- diag(length(cn))[cn == "BASE", , drop = FALSE]
    kr <- kr_linear(fit, d, form, Ldf, list(BASE = Lbase, `ARM:AVISIT` = Lint))
    wcsv(data.frame(AVISIT = as.character(cgrid$AVISIT), se_kr = kr$one[, "se"],
                    df_kr = kr$one[, "df"]), paste0(tag, "_kr_diffs.csv"))
    wcsv(data.frame(term = rownames(kr$multi), kr$multi, check.names = FALSE),
         paste0(tag, "_kr_type3.csv"))
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
