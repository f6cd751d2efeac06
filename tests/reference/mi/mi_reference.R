# Independent R implementation of reference-based conditional mean imputation with jackknife
# standard errors (Wolbers et al. 2022; Carpenter, Roger & Kenward 2013), written for this
# project from the published formulas (not rbmi's code, which needs R packages not available
# here). Imputation model fitted by nlme::gls (REML, corSymm + varIdent = UN); analysis by
# lm() per visit; LS means "counterfactual" (mean prediction with the arm set).
#
# Usage (from this folder):
#   Rscript mi_reference.R synthetic      -> ref_synthetic_condmean.csv
#   Rscript mi_reference.R antidepressant -> ref_antidepressant_condmean.csv
#     (needs antidepressant_data.csv: rbmi's data("antidepressant_data") written by write.csv)
suppressPackageStartupMessages(library(nlme))

args <- commandArgs(trailingOnly = TRUE)
which_data <- if (length(args)) args[1] else "synthetic"

ctrl <- glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-11, msTol = 1e-11,
                   returnObject = FALSE)

# d: data.frame(id, arm, visit (factor), y, covariates...); ice: data.frame(id, t, strategy)
# with t the 1-based index of the first visit affected.
prepare <- function(d, ice, visits) {
  ids <- sort(unique(as.character(d$id)))
  grid <- expand.grid(visit = visits, id = ids, stringsAsFactors = FALSE)[, c("id", "visit")]
  subj <- d[!duplicated(d$id), setdiff(names(d), c("visit", "y"))]
  grid <- merge(grid, subj, by = "id")
  grid <- merge(grid, d[, c("id", "visit", "y")], by = c("id", "visit"), all.x = TRUE)
  grid$visit <- factor(grid$visit, levels = visits)
  grid$vidx <- as.integer(grid$visit)
  grid <- grid[order(grid$id, grid$vidx), ]
  grid$t <- length(visits) + 1L
  grid$strategy <- "MAR"
  m <- match(grid$id, ice$id)
  grid$t[!is.na(m)] <- ice$t[m[!is.na(m)]]
  grid$strategy[!is.na(m)] <- ice$strategy[m[!is.na(m)]]
  grid
}

fit_cache <- new.env()

fit_model <- function(grid, form) {
  fd <- grid[!is.na(grid$y) & !(grid$strategy != "MAR" & grid$vidx >= grid$t), ]
  # the same model data (e.g. one leave-one-out set under several strategies) -> the same fit
  key <- paste(c(deparse(form), fd$id, fd$vidx), collapse = "|")
  if (!is.null(fit_cache[[key]])) return(fit_cache[[key]])
  fit <- gls(form, data = fd, correlation = corSymm(form = ~ vidx | id),
             weights = varIdent(form = ~ 1 | visit), method = "REML", control = ctrl)
  T <- nlevels(grid$visit)
  full <- names(which(table(fd$id) == T))[1]
  S <- unclass(getVarCov(fit, individual = full))
  out <- list(beta = coef(fit), S = matrix(S, T, T))
  assign(key, out, envir = fit_cache)
  out
}

# One covariance matrix for both arms, so the JR/CIR covariance of Carpenter et al. is S itself.
impute_cm <- function(grid, pars, form_rhs, arms_ref) {
  T <- nlevels(grid$visit)
  X <- model.matrix(form_rhs, grid)
  gr <- grid
  gr$arm <- factor(arms_ref[as.character(grid$arm)], levels = levels(grid$arm))
  Xr <- model.matrix(form_rhs, gr)
  b <- pars$beta[colnames(X)]
  mu_all <- as.vector(X %*% b)
  mr_all <- as.vector(Xr %*% b)
  S <- pars$S
  out <- grid$y
  for (i in split(seq_len(nrow(grid)), grid$id)) {
    y <- grid$y[i]
    if (!any(is.na(y))) next
    mu <- mu_all[i]
    mr <- mr_all[i]
    s <- grid$strategy[i[1]]
    t <- grid$t[i[1]]
    if (s != "MAR" && t <= T) {
      post <- seq_len(T) >= t
      if (s == "CR" || (t == 1 && s %in% c("JR", "CIR"))) {
        mu <- mr
      } else if (s == "JR") {
        mu[post] <- mr[post]
      } else if (s == "CIR") {
        mu[post] <- mu[t - 1] + mr[post] - mr[t - 1]
      } else if (s == "LMCF") {
        mu[post] <- mu[t - 1]
      }
    }
    m <- is.na(y)
    o <- !m
    if (any(o)) {
      out[i][m] <- mu[m] + S[m, o, drop = FALSE] %*% solve(S[o, o, drop = FALSE], y[o] - mu[o])
    } else {
      out[i][m] <- mu[m]
    }
  }
  out
}

analyse <- function(grid, yc, control, covs) {
  g <- grid
  g$yc <- yc
  res <- list()
  arms <- levels(g$arm)
  test <- setdiff(arms, control)
  for (v in levels(g$visit)) {
    dv <- g[g$visit == v, ]
    dv$arm <- relevel(factor(as.character(dv$arm), levels = arms), ref = control)
    f <- as.formula(paste("yc ~ arm", paste(c("", covs), collapse = " + ")))
    fit <- lm(f, data = dv)
    for (a in test) {
      res[[length(res) + 1]] <- data.frame(quantity = "diff", arm = a, visit = v,
                                           estimate = unname(coef(fit)[paste0("arm", a)]))
    }
    for (a in arms) {
      nd <- dv
      nd$arm <- factor(a, levels = levels(dv$arm))
      res[[length(res) + 1]] <- data.frame(quantity = "lsm", arm = a, visit = v,
                                           estimate = mean(predict(fit, newdata = nd)))
    }
  }
  do.call(rbind, res)
}

run_case <- function(grid, form, form_rhs, arms_ref, control, covs, label) {
  pars <- fit_model(grid, form)
  est <- analyse(grid, impute_cm(grid, pars, form_rhs, arms_ref), control, covs)
  ids <- unique(grid$id)
  jk <- sapply(ids, function(b) {
    gb <- grid[grid$id != b, ]
    pb <- fit_model(gb, form)
    analyse(gb, impute_cm(gb, pb, form_rhs, arms_ref), control, covs)$estimate
  })
  n <- length(ids)
  est$se_jackknife <- sqrt((n - 1) / n * rowSums((jk - rowMeans(jk))^2))
  est$case <- label
  est
}

if (which_data == "synthetic") {
  d <- read.csv("data_synthetic.csv", stringsAsFactors = FALSE)
  ice <- read.csv("ice_synthetic.csv", stringsAsFactors = FALSE)
  visits <- c("WEEK 4", "WEEK 8", "WEEK 12", "WEEK 16")
  d <- data.frame(id = d$USUBJID, arm = d$ARM, visit = d$AVISIT, y = d$CHG, BASE = d$BASE,
                  STRATUM = d$STRATUM)
  ice <- data.frame(id = ice$USUBJID, t = match(ice$AVISIT, visits), strategy = ice$STRATEGY)
  grid <- prepare(d, ice, visits)
  grid$arm <- factor(grid$arm, levels = c("Active", "Placebo"))
  grid$STRATUM <- factor(grid$STRATUM)
  form <- y ~ arm * visit + BASE * visit + STRATUM * visit
  rhs <- ~ arm * visit + BASE * visit + STRATUM * visit
  refs <- c(Active = "Placebo", Placebo = "Placebo")
  out <- run_case(grid, form, rhs, refs, "Placebo", c("BASE", "STRATUM"), "mixed")
  write.csv(out, "ref_synthetic_condmean.csv", row.names = FALSE)
} else {
  d <- read.csv("antidepressant_data.csv", stringsAsFactors = FALSE)
  visits <- c("4", "5", "6", "7")
  d <- data.frame(id = as.character(d$PATIENT), arm = d$THERAPY, visit = as.character(d$VISIT),
                  y = d$CHANGE, BASVAL = d$BASVAL)
  g0 <- prepare(d, data.frame(id = character(0), t = integer(0), strategy = character(0)),
                visits)
  # ICE = first missing visit, except subject 3618 (intermittent; rbmi quickstart)
  miss <- g0[is.na(g0$y), ]
  first <- miss[!duplicated(miss$id), ]
  first <- first[first$id != "3618", ]
  form <- y ~ arm * visit + BASVAL * visit
  rhs <- ~ arm * visit + BASVAL * visit
  refs <- c(DRUG = "PLACEBO", PLACEBO = "PLACEBO")
  out <- NULL
  for (s in c("JR", "CR", "CIR", "LMCF", "MAR")) {
    ice <- data.frame(id = first$id, t = first$vidx, strategy = s)
    if (s == "LMCF") ice <- ice[ice$t > 1, ]
    grid <- prepare(d, ice, visits)
    grid$arm <- factor(grid$arm, levels = c("DRUG", "PLACEBO"))
    out <- rbind(out, run_case(grid, form, rhs, refs, "PLACEBO", "BASVAL", s))
  }
  write.csv(out, "ref_antidepressant_condmean.csv", row.names = FALSE)
}
writeLines(capture.output(sessionInfo()), "ref_session.txt")
