"""One way for tests to build a study: :func:`make_study` returns a validated, frozen
:class:`hepatrial.spec.Study` (schema defaults filled) from a minimal config and the keys a test
changes."""

from __future__ import annotations

import copy

from hepatrial.spec import Study

MINIMAL = {
    "study": {"id": "S"},
    "arms": [{"label": "Active"}, {"label": "Control", "reference": True}],
    "visits": [
        {"label": "BASELINE", "avisitn": 0, "target_day": 1, "window": [-28, 1], "baseline": True},
        {"label": "WEEK 24", "avisitn": 24, "target_day": 168, "window": [2, 400]},
    ],
}


def merge(base: dict, over: dict) -> dict:
    """``base`` with ``over`` merged in: mappings key by key, anything else replaced."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = (
            merge(out[k], v)
            if isinstance(v, dict) and isinstance(out.get(k), dict)
            else copy.deepcopy(v)
        )
    return out


def make_study(**over) -> Study:
    """A Study from :data:`MINIMAL` with ``over`` merged in (``study={"design": "single_arm"}``,
    ``strata=["CTPSTRAT"]``, ``arms=[...]``)."""
    return Study.from_dict(merge(MINIMAL, over), "test study")
