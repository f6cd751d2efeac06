"""The study spec (:class:`Study`, :func:`load`), the designs, the parameter table and the
catalogue of outputs: what a study is, in one place (issue 15)."""

from hepatrial.spec.design import DESIGNS, Design
from hepatrial.spec.study import Arm, Study, Visit, as_study, load

__all__ = ["DESIGNS", "Arm", "Design", "Study", "Visit", "as_study", "load"]
