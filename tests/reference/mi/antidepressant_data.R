# antidepressant_data.csv from rbmi's data/antidepressant_data.rda (openpharma/rbmi, Apache License 2.0:
# LICENSE-rbmi.md in this folder). The .rda is read from a checkout of rbmi, not installed from CRAN:
#   Rscript antidepressant_data.R /path/to/rbmi/data/antidepressant_data.rda
# Made with R 4.2.2 from rbmi commit 5961fa07 (.rda SHA-256
# bdad3cc1f86798171d3f069b9ec21e73dff683656eb3dcfd96c16e6c5938c036); the CSV's SHA-256 is
# e32b7307736552c788942a58f8d58367f0e666a362710b3c3ce31228d7a723d1.
args <- commandArgs(trailingOnly = TRUE)
load(args[1])
write.csv(antidepressant_data, "antidepressant_data.csv", row.names = FALSE)
