"""Heavy libraries are imported by the jobs that use them, not by every job that imports a
module near them (each job is its own Python process: an import is paid once per job)."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module, absent",
    [
        # the report jobs that write listing files and summaries draw nothing
        ("hepatrial.report.run", ["plotnine", "matplotlib", "pandas"]),
        # the responder and tables jobs use hepatrial.models.rates, not the MMRM engine
        ("hepatrial.analysis.responder", ["hepatrial.models.mmrm", "formulaic", "scipy.optimize"]),
        ("hepatrial.analysis.interim", ["hepatrial.models.mmrm", "formulaic"]),
        # the rank tests import scipy.stats when one runs (a DESC job without one skips it)
        ("hepatrial.analysis.nonparametric", ["scipy.stats"]),
    ],
)
def test_module_does_not_import(module, absent):
    code = (
        f"import sys, {module}\n"
        f"loaded = [m for m in {absent!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_models_package_still_exports_the_mmrm_engine():
    import hepatrial.models as models
    from hepatrial.models import MMRM, MMRMResult, fit_mmrm, fit_random_slope_lmm
    from hepatrial.models.lmm import fit_random_slope_lmm as lmm_fit
    from hepatrial.models.mmrm import MMRM as MMRMClass
    from hepatrial.models.mmrm import fit

    assert MMRM is MMRMClass and fit_mmrm is fit and fit_random_slope_lmm is lmm_fit
    assert MMRMResult.__name__ == "MMRMResult"
    assert sorted(models.__all__) == ["MMRM", "MMRMResult", "fit_mmrm", "fit_random_slope_lmm"]
    with pytest.raises(AttributeError):
        models.not_a_model  # noqa: B018
