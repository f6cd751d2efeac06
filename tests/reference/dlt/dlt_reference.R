# Reference numbers for the DLT table's exact 95% CI (hepatrial.analysis.dlt, ARD DLT ci_lower /
# ci_upper, in %): stats::binom.test(x, n)$conf.int (Clopper-Pearson), base R only.
#
# Run from the repository root:
#   Rscript tests/reference/dlt/dlt_reference.R
# Writes tests/reference/dlt/ref_dlt_cp.csv: case, x (subjects with a DLT), n (DLT-evaluable),
# lower and upper (%), and tests/reference/dlt/ref_session.txt.
# Cases: the unit test's cohorts (tests/unit/test_dlt.py) and the dose cohorts of the bundled
# dose-escalation cut data/UCMSC-DOSE-ESC/2026-03-31 (counts from its ARD, written here by hand).
out_dir <- "tests/reference/dlt"
if (!dir.exists(out_dir)) stop("run from the repository root")
cases <- data.frame(
  case = c("unit Low", "unit High", "unit ALL", "DE LOW", "DE MEDIUM", "DE HIGH", "DE ALL", "zero of six",
           "six of six"),
  x = c(0, 2, 2, NA, NA, NA, NA, 0, 6),
  n = c(3, 2, 5, NA, NA, NA, NA, 6, 6))
args <- commandArgs(trailingOnly = TRUE)  # the DE counts: x_low n_low x_med n_med x_high n_high
de <- if (length(args) == 6) as.numeric(args) else c(1, 6, 0, 6, 2, 6)  # the DE cut: 1/6, 0/6, 2/6
cases$x[4:6] <- de[c(1, 3, 5)]
cases$n[4:6] <- de[c(2, 4, 6)]
cases$x[7] <- sum(de[c(1, 3, 5)])
cases$n[7] <- sum(de[c(2, 4, 6)])
ci <- t(mapply(function(x, n) 100 * binom.test(x, n)$conf.int, cases$x, cases$n))
cases$lower <- ci[, 1]
cases$upper <- ci[, 2]
write.csv(cases, file.path(out_dir, "ref_dlt_cp.csv"), row.names = FALSE, quote = TRUE)
writeLines(capture.output(sessionInfo()), file.path(out_dir, "ref_session.txt"))
print(cases, digits = 15)
