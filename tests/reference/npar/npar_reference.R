# Reference numbers for hepatrial.analysis.nonparametric (ARD NPAR_TEST): base R stats only.
#
# Run from the repository root:
#   Rscript tests/reference/npar/npar_reference.R
# Writes tests/reference/npar/ref_npar.csv: case, test, statistic, p, and the settings R chose
# (exact, correct), and ref_session.txt. Cases (values written out here and in the test):
#   small_noties  two arms, 6 and 5 values, no ties        -> wilcox.test exact
#   ties          two arms with ties                        -> normal approximation, continuity
#                                                              correction, tie-corrected variance
#   large         two arms of 55 and 60 distinct values     -> normal approximation (n >= 50)
#   kw3           three arms with ties                      -> kruskal.test
#   aclf_nkg2d_<VISIT>  NKG2D (% of NK cells) of the bundled HBV-ACLF cut, MSC 8 weeks vs MSC 4 weeks,
#                 analysed ITT records of ADLB (data_aclf_nkg2d.csv, extracted from the pipeline's
#                 ADLB of data/UCMSC-HBV-ACLF/2026-06-30) -> wilcox.test defaults
out_dir <- "tests/reference/npar"
if (!dir.exists(out_dir)) stop("run from the repository root")
x1 <- c(12.1, 15.3, 9.8, 20.4, 17.7, 11.2); y1 <- c(8.4, 10.1, 7.9, 13.5, 9.1)
x2 <- c(3, 5, 5, 7, 9, 9, 12); y2 <- c(2, 3, 3, 5, 6, 8)
x3 <- seq(1.5, by = 1.1, length.out = 55); y3 <- seq(0.3, by = 1.05, length.out = 60)
g1 <- c(2.1, 3.4, 3.4, 5.0, 6.2); g2 <- c(4.4, 5.0, 7.1, 8.3); g3 <- c(1.0, 2.1, 2.9, 3.3, 3.4, 4.0)
w <- function(case, x, y) {
  ties <- length(unique(c(x, y))) < length(x) + length(y)
  exact <- length(x) < 50 && length(y) < 50 && !ties
  r <- suppressWarnings(wilcox.test(x, y))  # the defaults: exact = NULL, correct = TRUE
  data.frame(case = case, test = "wilcoxon", statistic = unname(r$statistic), p = r$p.value,
             exact = exact, correct = !exact)
}
k <- kruskal.test(list(g1, g2, g3))
out <- rbind(w("small_noties", x1, y1), w("ties", x2, y2), w("large", x3, y3),
             data.frame(case = "kw3", test = "kruskal", statistic = unname(k$statistic), p = k$p.value,
                        exact = FALSE, correct = FALSE))
nk <- read.csv(file.path(out_dir, "data_aclf_nkg2d.csv"))
for (v in unique(nk$AVISIT)) {
  d <- nk[nk$AVISIT == v, ]
  out <- rbind(out, w(paste0("aclf_nkg2d_", v), d$AVAL[d$TRT01P == "MSC 8 weeks"], d$AVAL[d$TRT01P == "MSC 4 weeks"]))
}
write.csv(out, file.path(out_dir, "ref_npar.csv"), row.names = FALSE, quote = TRUE)
writeLines(capture.output(sessionInfo()), file.path(out_dir, "ref_session.txt"))
print(out, digits = 15)
