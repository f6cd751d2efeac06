# Reference numbers for hepatrial.models.gsd (group-sequential designs) from R rpact.
#
# Run from the repository root:
#   Rscript tests/reference/gsd/gsd_reference.R
# Writes into tests/reference/gsd/:
#   ref_designs.csv     one row per design case: the Python call that should reproduce it
#                       (fracs_py, final_py, sided, alpha, beta, efficacy, efficacy_param,
#                       futility, futility_param, binding) and rpact's getDesignCharacteristics
#                       (shift = drift^2, inflation_factor, n_fixed)
#   ref_boundaries.csv  one row per design case and look: info_frac (rpact informationRates),
#                       z_efficacy (criticalValues), z_futility (futilityBounds, NA at the last
#                       look), alpha_cum (alphaSpent), beta_cum (betaSpent), power_cum (the
#                       design's power, or getDesignCharacteristics' power without futility),
#                       p_nominal (stageLevels)
#   ref_monitoring.csv  survival data sets (overall log-rank Z, cumulative events, 1:1) analysed
#                       with a design: per case and stage the conditional power
#                       (getConditionalPower, thetaH1 = the design hazard ratio and the default
#                       = observed trend; the value at the last stage) and the repeated
#                       confidence intervals (getRepeatedConfidenceIntervals) on the log hazard
#                       ratio scale
#   ref_session.txt     sessionInfo()
#
# Design cases: every alpha-spending family (asOF, asP, asHSD gamma = -4 and 1, asKD rho = 1
# and 3) x information rates (0.5, 1), (0.33, 0.67, 1), (0.25, 0.6, 0.8, 1), (0.2, ..., 1) x
# {no futility, non-binding, binding beta-spending futility of the same family}, one-sided
# alpha = 0.025, beta = 0.2; the same without futility two-sided alpha = 0.05; unplanned looks
# (the design recomputed at the observed information rates) and an over- and an under-running
# final look (asUser / bsUser spending at min(t, 1) with information rates t / t_K, which is
# what hepatrial.models.gsd does with final = TRUE).

suppressPackageStartupMessages(library(rpact))

out_dir <- "tests/reference/gsd"
if (!dir.exists(out_dir)) stop("run from the repository root")
wcsv <- function(x, name) {
  write.csv(x, file.path(out_dir, name), row.names = FALSE, quote = TRUE)
}
fmt <- function(x) paste(formatC(x, digits = 17, format = "g"), collapse = ";")

families <- list(
  list(a = "asOF", b = "bsOF", g = NA_real_),
  list(a = "asP", b = "bsP", g = NA_real_),
  list(a = "asHSD", b = "bsHSD", g = -4),
  list(a = "asHSD", b = "bsHSD", g = 1),
  list(a = "asKD", b = "bsKD", g = 1),
  list(a = "asKD", b = "bsKD", g = 3)
)
rates <- list(F2 = c(0.5, 1), F3 = c(0.33, 0.67, 1), F4 = c(0.25, 0.6, 0.8, 1),
              F5 = c(0.2, 0.4, 0.6, 0.8, 1))

design_rows <- list()
bound_rows <- list()
designs <- list()

# one design: rpact arguments + how Python should call it
add_design <- function(case, rp, py) {
  d <- do.call(getDesignGroupSequential, rp)
  ch <- getDesignCharacteristics(d)
  K <- d$kMax
  fut <- if (length(d$futilityBounds) == K - 1) d$futilityBounds else rep(NA_real_, K - 1)
  has_fut <- !is.null(rp$typeBetaSpending) && rp$typeBetaSpending != "none"
  if (!has_fut) fut <- rep(NA_real_, K - 1)
  power <- if (has_fut) d$power else ch$power
  beta_spent <- if (has_fut) d$betaSpent else rep(NA_real_, K)
  bound_rows[[length(bound_rows) + 1]] <<- data.frame(
    case = case, look = seq_len(K), info_frac = d$informationRates,
    z_efficacy = d$criticalValues, z_futility = c(fut, NA_real_), alpha_cum = d$alphaSpent,
    beta_cum = beta_spent, power_cum = power, p_nominal = d$stageLevels)
  design_rows[[length(design_rows) + 1]] <<- data.frame(
    case = case, fracs_py = fmt(py$fracs), final_py = py$final, sided = d$sided,
    alpha = d$alpha, beta = d$beta, efficacy = py$efficacy,
    efficacy_param = py$efficacy_param, futility = py$futility,
    futility_param = py$futility_param, binding = py$binding, shift = ch$shift,
    inflation_factor = ch$inflationFactor, n_fixed = ch$nFixed)
  designs[[case]] <<- d
  invisible(d)
}

std_design <- function(case, fam, ir, sided, alpha, fut) {
  rp <- list(informationRates = ir, alpha = alpha, beta = 0.2, sided = sided,
             typeOfDesign = fam$a)
  if (!is.na(fam$g)) rp$gammaA <- fam$g
  futility <- NA_character_
  binding <- FALSE
  if (fut != "none") {
    rp$typeBetaSpending <- fam$b
    if (!is.na(fam$g)) rp$gammaB <- fam$g
    rp$bindingFutility <- fut == "binding"
    futility <- fam$b
    binding <- fut == "binding"
  }
  add_design(case, rp, list(fracs = ir, final = FALSE, efficacy = fam$a, efficacy_param = fam$g,
                            futility = futility, futility_param = if (fut == "none") NA_real_
                            else fam$g, binding = binding))
}

fam_label <- function(fam) {
  if (is.na(fam$g)) fam$a else paste0(fam$a, fam$g)
}

for (fam in families) {
  for (rn in names(rates)) {
    for (fut in c("none", "nonbinding", "binding")) {
      std_design(paste("os", fam_label(fam), rn, fut, sep = "_"), fam, rates[[rn]], 1, 0.025,
                 fut)
    }
    std_design(paste("ts", fam_label(fam), rn, "none", sep = "_"), fam, rates[[rn]], 2, 0.05,
               "none")
  }
}

# Unplanned looks: designs recomputed at the information rates actually observed
# (hepatrial: gsd_design(planned).at_fractions(monitoring_fractions(planned, observed))).
unpl <- list(
  list(case = "unplanned_extra_look", fam = families[[1]], ir = c(0.4, 0.55, 0.8, 1)),
  list(case = "unplanned_shifted_looks", fam = families[[3]], ir = c(0.3, 0.7, 0.8, 1))
)
for (u in unpl) {
  for (fut in c("none", "nonbinding", "binding")) {
    std_design(paste(u$case, fut, sep = "_"), u$fam, u$ir, 1, 0.025, fut)
  }
}

# Over- and under-running final look: spending at min(t, 1), the final look spends all;
# correlations from t / t_K.
overrun <- list(list(case = "overrun_final", t = c(0.3, 0.7, 1.1)),
                list(case = "underrun_final", t = c(0.33, 0.67, 0.95)))
for (o in overrun) {
  s <- pmin(o$t, 1)
  s[length(s)] <- 1
  ua <- 2 * (1 - pnorm(qnorm(1 - 0.025 / 2) / sqrt(s)))  # asOF, one-sided
  ub <- 2 * (1 - pnorm(qnorm(1 - 0.2 / 2) / sqrt(s)))    # bsOF
  ir <- o$t / o$t[length(o$t)]
  for (fut in c("none", "nonbinding", "binding")) {
    rp <- list(informationRates = ir, alpha = 0.025, beta = 0.2, sided = 1,
               typeOfDesign = "asUser", userAlphaSpending = ua)
    if (fut != "none") {
      rp$typeBetaSpending <- "bsUser"
      rp$userBetaSpending <- ub
      rp$bindingFutility <- fut == "binding"
    }
    add_design(paste(o$case, fut, sep = "_"), rp,
               list(fracs = o$t, final = TRUE, efficacy = "asOF", efficacy_param = NA_real_,
                    futility = if (fut == "none") NA_character_ else "bsOF",
                    futility_param = NA_real_, binding = fut == "binding"))
  }
}

designs_df <- do.call(rbind, design_rows)
bounds_df <- do.call(rbind, bound_rows)
# the Python side reports the overrun / underrun designs at its own fractions
wcsv(designs_df, "ref_designs.csv")
wcsv(bounds_df, "ref_boundaries.csv")

# ---------------------------------------------------------------------------------------------
# Monitoring: survival data sets (1:1 allocation, overall log-rank Z, cumulative events).
# Estimate of the log hazard ratio = Z * 2 / sqrt(events), SE = 2 / sqrt(events); information
# fractions = events / planned events, so the observed information matches the design's.
# ---------------------------------------------------------------------------------------------
mon <- list(
  list(case = "os_asOF_F3_nonbinding", dmax = 300, z = c(1.2, 2.1)),
  list(case = "os_asOF_F3_nonbinding", dmax = 300, z = c(-0.3, 0.4), tag = "low"),
  list(case = "os_asP_F4_none", dmax = 200, z = c(0.8, 1.5, 2.0)),
  list(case = "os_asHSD-4_F5_binding", dmax = 250, z = c(0.5, 1.1, 1.9, 2.2)),
  list(case = "os_asHSD-4_F5_nonbinding", dmax = 250, z = c(0.5, 1.1, 1.9, 2.2)),
  list(case = "os_asKD3_F2_binding", dmax = 100, z = c(1.5)),
  list(case = "os_asKD1_F4_nonbinding", dmax = 200, z = c(1.9, 0.9, 1.4)),
  list(case = "ts_asOF_F4_none", dmax = 200, z = c(0.9, 1.7, 2.3)),
  list(case = "ts_asP_F5_none", dmax = 250, z = c(-0.4, 0.6, 1.2, 1.6)),
  list(case = "unplanned_extra_look_nonbinding", dmax = 200, z = c(1.0, 1.3, 1.8))
)
hr1 <- 1.5
mon_rows <- list()
for (m in mon) {
  d <- designs[[m$case]]
  ev <- round(d$informationRates * m$dmax)
  if (any(abs(ev - d$informationRates * m$dmax) > 1e-9)) stop("events not integral: ", m$case)
  n_obs <- length(m$z)
  ds <- getDataset(overallEvents = ev[1:n_obs], overallLogRanks = m$z,
                   overallAllocationRatios = rep(1, n_obs))
  rci <- getRepeatedConfidenceIntervals(d, dataInput = ds, stage = n_obs, directionUpper = TRUE)
  label <- if (is.null(m$tag)) m$case else paste(m$case, m$tag, sep = "_")
  for (s in seq_len(n_obs)) {
    cp_d <- NA_real_
    cp_t <- NA_real_
    if (s < d$kMax) {
      sr <- getStageResults(d, dataInput = ds, stage = s, directionUpper = TRUE)
      np <- diff(ev)[s:(d$kMax - 1)]
      cp_d <- getConditionalPower(sr, nPlanned = np, thetaH1 = hr1)$conditionalPower[d$kMax]
      cp_t <- getConditionalPower(sr, nPlanned = np)$conditionalPower[d$kMax]
    }
    mon_rows[[length(mon_rows) + 1]] <- data.frame(
      case = label, design_case = m$case, stage = s, events = ev[s], z = m$z[s],
      events_max = m$dmax, log_hr1 = log(hr1), cp_design = cp_d, cp_trend = cp_t,
      rci_lower = log(rci[1, s]), rci_upper = log(rci[2, s]))
  }
}
wcsv(do.call(rbind, mon_rows), "ref_monitoring.csv")

writeLines(capture.output(sessionInfo()), file.path(out_dir, "ref_session.txt"))
cat("done\n")
