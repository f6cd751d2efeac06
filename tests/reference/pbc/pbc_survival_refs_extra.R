## Extra reference numbers for hepatrial.survival (beyond reference/pbc_survival_refs.R).
## R 4.2.2, survival 3.5-3, cmprsk 2.2-11. Same 312 randomized patients of pbc.csv.
##
## Run from the folder that holds pbc.csv (tests/reference/pbc):
##   Rscript pbc_survival_refs_extra.R
## Writes extra_*.csv beside it. Data sets ("data" column):
##   days   : time as recorded (days)
##   months : ceiling(time / 30.4375), an artificial heavily tied version to exercise ties
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
})
options(digits = 15)
pbc0 <- read.csv("pbc.csv")
d0 <- pbc0[!is.na(pbc0$trt), ]
stopifnot(nrow(d0) == 312)
arm_levels <- c("D-penicillamine", "Placebo")
d0$arm <- factor(ifelse(d0$trt == 1, arm_levels[1], arm_levels[2]), levels = arm_levels)
d0$sex <- factor(d0$sex)
d0$edema_f <- factor(d0$edema)          # levels 0, 0.5, 1
d0$stage_f <- factor(d0$stage)          # levels 1..4
d0$tfs <- as.integer(d0$status %in% c(1, 2))
d0$os <- as.integer(d0$status == 2)
d0$fstat <- factor(d0$status, levels = 0:2, labels = c("censor", "transplant", "death"))

wcsv <- function(x, name) {
  write.csv(x, name, row.names = FALSE, na = "", quote = FALSE)
  cat("wrote", name, nrow(x), "rows\n")
}
datasets <- list(days = d0, months = within(d0, time <- ceiling(time / 30.4375)))

km_full <- NULL; km_q <- NULL; tests <- NULL; cox <- NULL; cif_full <- NULL; gray <- NULL
for (dn in names(datasets)) {
  d <- datasets[[dn]]
  for (ep in c("tfs", "os")) {
    d$ev <- d[[ep]]
    ## ---- KM: full step tables and quantiles, three CI types, by arm and pooled
    for (ct in c("log-log", "log", "plain")) {
      for (by in c("arm", "ALL")) {
        fit <- if (by == "arm") survfit(Surv(time, ev) ~ arm, data = d, conf.type = ct)
               else survfit(Surv(time, ev) ~ 1, data = d, conf.type = ct)
        s <- summary(fit, censored = TRUE)
        grp <- if (by == "arm") sub("^arm=", "", as.character(s$strata)) else "ALL"
        km_full <- rbind(km_full, data.frame(
          data = dn, endpoint = ep, conf_type = ct, group = grp, time = s$time,
          n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
          surv = s$surv, se = s$std.err, lower = s$lower, upper = s$upper))
        q <- quantile(fit, probs = c(0.25, 0.5, 0.75), conf.int = TRUE)
        qq <- if (by == "arm") q$quantile else matrix(q$quantile, nrow = 1)
        ql <- if (by == "arm") q$lower else matrix(q$lower, nrow = 1)
        qu <- if (by == "arm") q$upper else matrix(q$upper, nrow = 1)
        gl <- if (by == "arm") sub("^arm=", "", rownames(q$quantile)) else "ALL"
        for (i in seq_along(gl)) {
          km_q <- rbind(km_q, data.frame(
            data = dn, endpoint = ep, conf_type = ct, group = gl[i],
            prob = c(0.25, 0.5, 0.75), estimate = qq[i, ], lower = ql[i, ], upper = qu[i, ]))
        }
      }
    }
    ## ---- log-rank: arm (2 groups), edema (3), stage (4); unstratified and by sex
    for (gv in c("arm", "edema_f", "stage_f")) {
      for (strat in c("none", "sex")) {
        f <- if (strat == "none") as.formula(paste("Surv(time, ev) ~", gv))
             else as.formula(paste("Surv(time, ev) ~", gv, "+ strata(sex)"))
        sd <- survdiff(f, data = d)
        obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
        ex <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
        df <- sum(ex > 0) - 1
        tests <- rbind(tests, data.frame(
          data = dn, endpoint = ep, group_var = gv, strata = strat,
          group = levels(d[[gv]]), observed = obs, expected = ex,
          chisq = sd$chisq, df = df, p = pchisq(sd$chisq, df, lower.tail = FALSE)))
      }
    }
    ## ---- Cox: arm stratified by sex; edema 3 levels (+/- strata); arm + age + log(bili)
    specs <- list(
      list(name = "arm_strat_sex", f = Surv(time, ev) ~ arm + strata(sex), ref = "D-penicillamine"),
      list(name = "edema", f = Surv(time, ev) ~ edema_f, ref = "0"),
      list(name = "edema_strat_sex", f = Surv(time, ev) ~ edema_f + strata(sex), ref = "0"),
      list(name = "arm_age_logbili", f = Surv(time, ev) ~ arm + age + log(bili), ref = "D-penicillamine"))
    for (sp in specs) {
      for (ties in c("efron", "breslow")) {
        cf <- coxph(sp$f, data = d, ties = ties)
        b <- coef(cf); se <- sqrt(diag(vcov(cf)))
        sm <- summary(cf)
        cox <- rbind(cox, data.frame(
          data = dn, endpoint = ep, model = sp$name, ties = ties, term = names(b),
          coef = unname(b), se = unname(se), hr = unname(exp(b)),
          lower = unname(exp(b - qnorm(0.975) * se)), upper = unname(exp(b + qnorm(0.975) * se)),
          p = unname(2 * pnorm(-abs(b / se))),
          lrt = unname(sm$logtest["test"]), score = unname(sm$sctest["test"]),
          n = cf$n, nevent = cf$nevent))
      }
    }
  }
  ## ---- competing risks: full AJ tables (IJ SE, survfit) by arm and pooled, two CI types
  for (ct in c("log", "log-log", "plain")) {
    for (by in c("arm", "ALL")) {
      fit <- if (by == "arm") survfit(Surv(time, fstat) ~ arm, data = d, conf.type = ct)
             else survfit(Surv(time, fstat) ~ 1, data = d, conf.type = ct)
      s <- summary(fit, censored = TRUE)
      grp <- if (by == "arm") sub("^arm=", "", as.character(s$strata)) else rep("ALL", length(s$time))
      for (cause in c("transplant", "death")) {
        j <- match(cause, s$states)
        cif_full <- rbind(cif_full, data.frame(
          data = dn, conf_type = ct, group = grp, cause = cause, time = s$time,
          n_risk = s$n.risk[, 1], cif = s$pstate[, j], se = s$std.err[, j],
          lower = s$lower[, j], upper = s$upper[, j]))
      }
    }
  }
  ## cmprsk delta-method variance at every distinct time, by arm and pooled
  ut <- sort(unique(d$time))
  for (by in c("arm", "ALL")) {
    ci <- if (by == "arm") cuminc(d$time, d$status, d$arm, cencode = 0)
          else cuminc(d$time, d$status, cencode = 0)
    tp <- timepoints(ci, ut)
    for (nm in rownames(tp$est)) {
      parts <- strsplit(nm, " ")[[1]]
      cause <- unname(c("1" = "transplant", "2" = "death")[parts[length(parts)]])
      grp <- if (by == "arm") paste(parts[-length(parts)], collapse = " ") else "ALL"
      cif_full <- rbind(cif_full, data.frame(
        data = dn, conf_type = "cmprsk_delta", group = grp, cause = cause, time = ut,
        n_risk = NA, cif = as.numeric(tp$est[nm, ]), se = sqrt(as.numeric(tp$var[nm, ])),
        lower = NA, upper = NA))
    }
  }
  ## ---- Gray's test: arm, edema (3 groups), stage (4 groups), arm stratified by sex, rho = 1
  gspecs <- list(
    list(name = "arm", g = d$arm, s = NULL, rho = 0),
    list(name = "edema", g = d$edema_f, s = NULL, rho = 0),
    list(name = "stage", g = d$stage_f, s = NULL, rho = 0),
    list(name = "arm_strat_sex", g = d$arm, s = d$sex, rho = 0),
    list(name = "stage_strat_sex", g = d$stage_f, s = d$sex, rho = 0),
    list(name = "arm_rho1", g = d$arm, s = NULL, rho = 1))
  for (gs in gspecs) {
    ci <- if (is.null(gs$s)) cuminc(d$time, d$status, gs$g, rho = gs$rho, cencode = 0)
          else cuminc(d$time, d$status, gs$g, strata = gs$s, rho = gs$rho, cencode = 0)
    gray <- rbind(gray, data.frame(
      data = dn, test = gs$name, cause = c("transplant", "death")[as.integer(rownames(ci$Tests))],
      chisq = ci$Tests[, "stat"], df = ci$Tests[, "df"], p = ci$Tests[, "pv"]))
  }
}
wcsv(km_full, "extra_km_full.csv")
wcsv(km_q, "extra_km_quantiles.csv")
wcsv(tests, "extra_logrank.csv")
wcsv(cox, "extra_cox.csv")
wcsv(cif_full, "extra_cif_full.csv")
wcsv(gray, "extra_gray.csv")
