# Reference numbers for hepatrial.models.rates (responder analyses) from base R (stats only).
#
# Run from the repository root:
#   Rscript tests/reference/responder/responder_reference.R
# Reads tests/reference/responder/data_rct_strata.csv (the 2 x 2 x K tables of the responder
# definitions of the bundled RCT cut data/UCMSC-DC-RCT/2025-06-30, weeks 24 and 48, by CTPSTRAT).
# Writes into tests/reference/responder/:
#   ref_cp.csv      x, n, Clopper-Pearson 95% limits (stats::binom.test)
#   ref_mn.csv      x1, n1, x2, n2, risk difference and 95% Miettinen-Nurminen score limits
#   ref_cmh.csv     per case (stratified tables, strata as ";"-joined x1/n1/x2/n2): the CMH
#                   chi-square and p-value (stats::mantelhaen.test, correct = FALSE) and the
#                   Mantel-Haenszel common risk difference with Sato's variance and 95% Wald limits
#   ref_session.txt sessionInfo()
#
# The Miettinen-Nurminen interval is written out here on purpose with a different algorithm from
# the Python module: the restricted MLE (p1, p2 = p1 - delta) is the root of the profile score
# equation of the two binomial likelihoods (stats::uniroot), not the closed-form cubic root, and
# each limit is a uniroot of the score statistic, variance with the N / (N - 1) factor (as SAS
# PROC FREQ RISKDIFF(CL=MN), its default CORRECT=YES). The MH common risk difference and Sato's
# variance follow the SAS PROC FREQ documentation (COMMONRISKDIFF, Mantel-Haenszel).

out_dir <- "tests/reference/responder"
if (!dir.exists(out_dir)) stop("run from the repository root")
wcsv <- function(x, name) write.csv(x, file.path(out_dir, name), row.names = FALSE, quote = TRUE)
TOL <- 1e-14

# --- Clopper-Pearson ----------------------------------------------------------------------------
cp_cases <- rbind(
  data.frame(x = c(0, 1, 3, 5, 10), n = 10),
  data.frame(x = c(0, 1, 2, 29, 30), n = 30),
  data.frame(x = c(2, 2, 11, 28, 20, 8), n = c(27, 7, 29, 216, 96, 91)),  # SA and RCT cut counts
  data.frame(x = 1, n = 1), data.frame(x = 0, n = 1))
set.seed(16)
rn <- sample(2:400, 20)
cp_cases <- rbind(cp_cases, data.frame(x = sapply(rn, function(n) sample(0:n, 1)), n = rn))
cp <- t(mapply(function(x, n) binom.test(x, n, conf.level = 0.95)$conf.int, cp_cases$x, cp_cases$n))
wcsv(data.frame(cp_cases, lower = cp[, 1], upper = cp[, 2]), "ref_cp.csv")

# --- Miettinen-Nurminen -------------------------------------------------------------------------
xlogy <- function(x, y) ifelse(x == 0, 0, x * log(y))
restricted <- function(x1, n1, x2, n2, delta) {
  # d/dp2 of x1 log(p2 + d) + (n1 - x1) log(1 - p2 - d) + x2 log(p2) + (n2 - x2) log(1 - p2):
  # decreasing on the feasible interval, so the maximiser is its root or an end of the interval
  g <- function(p2) {
    p1 <- p2 + delta
    (if (x1 > 0) x1 / p1 else 0) - (if (n1 - x1 > 0) (n1 - x1) / (1 - p1) else 0) +
      (if (x2 > 0) x2 / p2 else 0) - (if (n2 - x2 > 0) (n2 - x2) / (1 - p2) else 0)
  }
  lo <- max(0, -delta); hi <- min(1, 1 - delta)
  eps <- 1e-15
  if (hi - lo < 1e-15) return(c(lo + delta, lo))
  if (g(lo + eps) <= 0) p2 <- lo
  else if (g(hi - eps) >= 0) p2 <- hi
  else p2 <- uniroot(g, c(lo + eps, hi - eps), tol = TOL, maxiter = 5000)$root
  c(p2 + delta, p2)
}
mn_stat <- function(x1, n1, x2, n2, delta) {
  d <- x1 / n1 - x2 / n2 - delta
  if (d == 0) return(0)
  p <- restricted(x1, n1, x2, n2, delta)
  v <- (p[1] * (1 - p[1]) / n1 + p[2] * (1 - p[2]) / n2) * (n1 + n2) / (n1 + n2 - 1)
  if (v <= 0) return(sign(d) * Inf)
  d / sqrt(v)
}
mn_ci <- function(x1, n1, x2, n2, level = 0.95) {
  z <- qnorm(1 - (1 - level) / 2)
  est <- x1 / n1 - x2 / n2
  f <- function(dl) mn_stat(x1, n1, x2, n2, dl)
  e <- 1e-13
  lower <- if (est <= -1 || f(-1 + e) - z <= 0) -1 else
    uniroot(function(dl) f(dl) - z, c(-1 + e, est), tol = TOL, maxiter = 5000)$root
  upper <- if (est >= 1 || f(1 - e) + z >= 0) 1 else
    uniroot(function(dl) f(dl) + z, c(est, 1 - e), tol = TOL, maxiter = 5000)$root
  c(est, lower, upper)
}
mn_cases <- data.frame(
  x1 = c(56, 9, 6, 5, 0, 0, 10, 10, 10, 1, 0, 3, 20, 28, 12, 25),
  n1 = c(70, 10, 7, 56, 10, 10, 10, 10, 10, 30, 25, 3, 96, 105, 65, 70),
  x2 = c(48, 3, 2, 0, 0, 0, 0, 0, 10, 0, 25, 0, 8, 13, 5, 4),
  n2 = c(80, 10, 7, 29, 20, 10, 20, 10, 10, 30, 25, 4, 91, 103, 62, 69))
set.seed(1985)
for (i in 1:30) {
  n1 <- sample(3:150, 1); n2 <- sample(3:150, 1)
  mn_cases <- rbind(mn_cases,
                    data.frame(x1 = sample(0:n1, 1), n1 = n1, x2 = sample(0:n2, 1), n2 = n2))
}
mn <- t(mapply(mn_ci, mn_cases$x1, mn_cases$n1, mn_cases$x2, mn_cases$n2))
wcsv(data.frame(mn_cases, rd = mn[, 1], lower = mn[, 2], upper = mn[, 3]), "ref_mn.csv")

# --- CMH test and MH common risk difference (Sato variance) -------------------------------------
cmh_case <- function(case, tab) {  # tab: data.frame x1, n1, x2, n2 (one row per stratum)
  arr <- array(0, dim = c(2, 2, nrow(tab)))
  for (h in seq_len(nrow(tab))) {
    arr[, , h] <- matrix(c(tab$x1[h], tab$x2[h], tab$n1[h] - tab$x1[h], tab$n2[h] - tab$x2[h]),
                         2, 2)
  }
  if (nrow(tab) > 1) {
    tst <- mantelhaen.test(arr, correct = FALSE)
    chisq <- unname(tst$statistic); p <- tst$p.value
  } else {  # mantelhaen.test needs 2 strata: one stratum's CMH statistic is (N - 1) / N Pearson's
    N <- sum(arr)
    chisq <- unname(chisq.test(arr[, , 1], correct = FALSE)$statistic) * (N - 1) / N
    p <- pchisq(chisq, 1, lower.tail = FALSE)
  }
  nh <- tab$n1 + tab$n2
  ok <- tab$n1 > 0 & tab$n2 > 0
  t <- tab[ok, ]; nh <- nh[ok]
  w <- t$n1 * t$n2 / nh
  d <- t$x1 / t$n1 - t$x2 / t$n2
  rd <- sum(w * d) / sum(w)
  P <- (t$n1^2 * t$x2 - t$n2^2 * t$x1 + t$n1 * t$n2 * (t$n2 - t$n1) / 2) / nh^2
  Q <- (t$x1 * (t$n2 - t$x2) + t$x2 * (t$n1 - t$x1)) / (2 * nh)
  se <- sqrt((rd * sum(P) + sum(Q)) / sum(w)^2)
  z <- qnorm(0.975)
  data.frame(case = case,
             strata = paste(sprintf("%d/%d/%d/%d", tab$x1, tab$n1, tab$x2, tab$n2), collapse = ";"),
             chisq = chisq, p = p, rd = rd, se = se,
             lower = rd - z * se, upper = rd + z * se)
}
cases <- list(
  two_strata = data.frame(x1 = c(10, 8), n1 = c(20, 15), x2 = c(5, 6), n2 = c(20, 18)),
  three_strata = data.frame(x1 = c(3, 12, 0), n1 = c(10, 30, 5), x2 = c(1, 6, 1),
                            n2 = c(12, 28, 6)),
  one_stratum = data.frame(x1 = 20, n1 = 96, x2 = 8, n2 = 91),
  zero_cells = data.frame(x1 = c(0, 5), n1 = c(8, 9), x2 = c(0, 1), n2 = c(7, 10)),
  one_arm_stratum = data.frame(x1 = c(4, 3, 2), n1 = c(10, 12, 4), x2 = c(2, 1, 0),
                               n2 = c(11, 13, 0)),
  unbalanced = data.frame(x1 = c(30, 2, 7, 11), n1 = c(40, 5, 25, 60), x2 = c(20, 3, 2, 9),
                          n2 = c(38, 9, 30, 20)))
set.seed(2001)
for (i in 1:10) {
  k <- sample(2:5, 1)
  n1 <- sample(4:60, k, replace = TRUE); n2 <- sample(4:60, k, replace = TRUE)
  cases[[sprintf("random_%02d", i)]] <- data.frame(
    x1 = sapply(n1, function(n) sample(0:n, 1)), n1 = n1,
    x2 = sapply(n2, function(n) sample(0:n, 1)), n2 = n2)
}
rct <- read.csv(file.path(out_dir, "data_rct_strata.csv"))
for (cs in unique(rct$case)) cases[[cs]] <- rct[rct$case == cs, c("x1", "n1", "x2", "n2")]
wcsv(do.call(rbind, Map(cmh_case, names(cases), cases)), "ref_cmh.csv")

writeLines(capture.output(sessionInfo()), file.path(out_dir, "ref_session.txt"))
