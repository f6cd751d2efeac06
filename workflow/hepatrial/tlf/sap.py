"""Footnotes in the words of a statistical analysis plan, from the ARD ``method`` strings.

The ARD keeps each analysis's method as a compact code (``UN REML Satterthwaite``, ``CHG ~ BASE +
CTPSTRAT + ARM + AVISIT + ARM*AVISIT``, ``Cox Efron, Wald CI, stratified by CTPSTRAT``) so that a
reader of the ARD can reproduce it; a table's footnote says the same in sentences, with the model's
terms written out (:func:`model_words`). A method this module does not know is shown as recorded.
"""

from __future__ import annotations

import re

COVARIANCE = {
    "UN": "an unstructured covariance matrix",
    "TOEPH": "a heterogeneous Toeplitz covariance matrix",
    "AR1H": "a heterogeneous first-order autoregressive covariance matrix",
    "CSH": "a heterogeneous compound-symmetry covariance matrix",
    "CS": "a compound-symmetry covariance matrix",
    "AR1": "a first-order autoregressive covariance matrix",
}
ESTIMATION = {"REML": "restricted maximum likelihood (REML)", "ML": "maximum likelihood"}
DF_WORDS = {
    "Satterthwaite": "Satterthwaite",
    "Kenward-Roger": "Kenward-Roger",
    "residual df": "residual",
}
TERM = {
    "BASE": "the baseline value",
    "ARM": "treatment arm",
    "AVISIT": "analysis visit",
    "CTPSTRAT": "the Child-Turcotte-Pugh stratum at randomisation",
    "SEX": "sex",
    "AGE": "age",
    "ETIOLOGY": "the aetiology of cirrhosis",
    "SITEID": "site",
    "subgroup": "the subgroup",
}
RESPONSE = {"CHG": "the change from baseline", "AVAL": "the value", "PCHG": "the percent change"}


def term_words(term: str, strata_words: dict[str, str] | None = None) -> str:
    """``ARM*AVISIT`` -> "the treatment arm-by-analysis visit interaction"; ``BASE`` -> "the
    baseline value"."""
    words = {**TERM, **(strata_words or {})}
    parts = [p.strip() for p in re.split(r"[*:]", term.strip())]
    named = [words.get(p, p) for p in parts]
    if len(named) == 1:
        return named[0]
    bare = [n.removeprefix("the ") for n in named]
    return "the " + "-by-".join(bare) + " interaction"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def model_words(formula: str, outcome: str = "") -> str:
    """A model formula written out: ``CHG ~ BASE + CTPSTRAT + ARM`` -> "the change from baseline
    (in <outcome>) with fixed effects for the baseline value, the Child-Turcotte-Pugh stratum at
    randomisation and treatment arm"."""
    lhs, _, rhs = formula.partition("~")
    response = RESPONSE.get(lhs.strip(), lhs.strip())
    if outcome:
        response += f" in {outcome}"
    terms = []
    for t in (x.strip() for x in rhs.split("+")):
        if not t:
            continue
        if "*" in t:  # R's a*b: both main effects and the interaction
            terms += [term_words(main) for main in t.split("*")]
        terms.append(term_words(t))
    seen = list(dict.fromkeys(terms))
    return f"{response}, with fixed effects for {_join(seen)}"


def mmrm_words(method: str, outcome: str) -> str:
    """``UN REML Satterthwaite; CHG ~ BASE + CTPSTRAT + ARM + AVISIT + ARM*AVISIT`` in SAP words."""
    head, _, formula = method.partition(";")
    parts = head.split()
    cov = COVARIANCE.get(parts[0], parts[0]) if parts else ""
    est = ESTIMATION.get(parts[1], parts[1]) if len(parts) > 1 else ""
    df = DF_WORDS.get(" ".join(parts[2:]), " ".join(parts[2:])) if len(parts) > 2 else ""
    model = (
        model_words(formula, outcome)
        if "~" in formula
        else f"the change from baseline in {outcome}"
    )
    text = (
        f"Mixed model for repeated measures (MMRM) of {model}; {cov} for the visits within a "
        f"subject, estimated by {est}"
    )
    if df:
        text += f", with {df} denominator degrees of freedom"
    return text + "."


def _stratum(code: str) -> str:
    return TERM.get(code, code)


# (pattern, sentence): the pattern matches a whole method string; groups feed the sentence.
_RULES: list[tuple[str, object]] = [
    (
        r"KM log-log Greenwood",
        (
            "Event-free rates: Kaplan-Meier estimates with 95% CIs from Greenwood's variance on the "
            "log(-log) scale"
        ),
    ),
    (
        r"KM median, log-log CI",
        (
            "Median times: Kaplan-Meier estimates with Brookmeyer-Crowley 95% CIs on the log(-log) "
            "scale"
        ),
    ),
    (r"log-rank stratified by (\w+)", lambda m: f"Log-rank test stratified by {_stratum(m[1])}"),
    (r"log-rank", "Log-rank test, unstratified"),
    (
        r"Cox (\w+), Wald CI, stratified by (\w+)",
        lambda m: (
            f"Hazard ratio from a Cox proportional hazards model with treatment arm as the only "
            f"covariate, stratified by {_stratum(m[2])} ({m[1]} method for ties), with a Wald "
            "95% CI"
        ),
    ),
    (
        r"Cox (\w+), Wald CI",
        lambda m: (
            f"Hazard ratio from an unstratified Cox proportional hazards model ({m[1]} method for "
            f"ties), with a Wald 95% CI"
        ),
    ),
    (
        r"Aalen-Johansen, IJ SE, log-log CI",
        (
            "Cumulative incidence: Aalen-Johansen estimator with infinitesimal-jackknife standard "
            "errors and "
            "95% CIs on the log(-log) scale"
        ),
    ),
    (r"Gray rho=0, stratified by (\w+)", lambda m: f"Gray's test stratified by {_stratum(m[1])}"),
    (r"Gray rho=0", "Gray's test, unstratified"),
    (
        r"descriptive; quartiles SAS PCTLDEF=5",
        "Quartiles by the empirical distribution function with averaging (SAS PCTLDEF=5)",
    ),
    (
        r"subjects, events \(CNSR = 0\) and censored",
        "Events: subjects with an event (ADTTE CNSR = 0); censored: all others",
    ),
    (
        (
            r"ANCOVA \(OLS\) of change from baseline at (.+) on baseline and arm, within subgroup; "
            r"95% t CI"
        ),
        lambda m: (
            f"Within each subgroup, analysis of covariance of the change from baseline at {m[1]} "
            "with fixed effects for the baseline value and treatment arm; 95% CI from the t "
            "distribution"
        ),
    ),
    (
        r"F test of arm-by-subgroup interaction in (.+) \(OLS\)",
        lambda m: (
            "Interaction p-value: F test of the treatment arm-by-subgroup interaction in the "
            "analysis of "
            f"covariance of {model_words(m[1])}"
        ),
    ),
    (
        r"random intercept and slope LMM.*",
        (
            "Linear mixed model with a random intercept and a random slope in time per subject, "
            "estimated by "
            "REML; Wald 95% CIs"
        ),
    ),
]


# what the rows of a table already say: an endpoint's role (the row's visit carries "(primary
# endpoint)"), not a method
_ROLE = re.compile(r";\s*(PRIMARY|KEY SECONDARY|SECONDARY) ENDPOINT\s*$", re.IGNORECASE)

POP_WORDS = {
    "SAFETY": "the safety population",
    "ITT": "the intent-to-treat population",
    "PP": "the per-protocol population",
}

# families of per-row methods that differ in one part (the row's category): one sentence for the
# family, the parts listed once (pattern, key of the family, sentence from the parts and the match)
_FAMILIES: list[tuple[str, object]] = [
    (
        r"subjects with (?:an? |any )?(.*TEAE.*?); % of (\w+) in arm",
        lambda parts, m: (
            "Subjects with at least one treatment-emergent adverse event of the row's kind, each "
            f"subject counted once a row; percentages of {POP_WORDS.get(m[2], m[2])} in the arm"
        ),
    ),
    (
        r"baseline vs worst post-baseline \((.+)\) reference-range category; % of subjects with "
        r"the lab in arm",
        lambda parts, m: (
            "Shift from the baseline to the worst post-baseline reference-range category ("
            + _join(sorted(p.lower() for p in parts))
            + "); percentages of the arm's subjects with the laboratory parameter"
        ),
    ),
]


def method_words(method: str) -> str:
    """One ARD method in SAP words ('' for a bare counting method, which the table's own footnote
    says, and for a role the rows already carry, "; PRIMARY ENDPOINT")."""
    m = _ROLE.sub("", method.strip()).strip()
    if re.fullmatch(r"(subjects|n \(% of \w+ in arm\)|% of \w+ in arm|subjects in \w+)", m):
        return ""
    if re.fullmatch(r"not collected \(.*\)", m):
        return ""  # the row says "not collected" and the table's footnote why
    for pattern, out in _FAMILIES:
        hit = re.fullmatch(pattern, m)
        if hit:
            return out([hit[1]], hit)  # type: ignore[operator]
    for pattern, out in _RULES:
        hit = re.fullmatch(pattern, m)
        if hit:
            return out(hit) if callable(out) else out  # type: ignore[operator]
    if re.fullmatch(r"\w+ \w+ (Satterthwaite|Kenward-Roger|residual df)", m):
        return ""  # the MMRM's own footnote (mmrm_words) says it
    return m[:1].upper() + m[1:]


def methods_note(methods: list[str]) -> str:
    """The "Methods:" footnote: each distinct method in words, as sentences, in a fixed order (the
    methods sorted); the per-row methods of one family (:data:`_FAMILIES`, "subjects with serious
    TEAE; % of SAFETY in arm", "... related TEAE ...") as one sentence."""
    words: list[str] = []
    family: dict[int, tuple[list[str], re.Match]] = {}
    for method in sorted(dict.fromkeys(methods)):
        m = _ROLE.sub("", method.strip()).strip()
        for k, (pattern, _) in enumerate(_FAMILIES):
            hit = re.fullmatch(pattern, m)
            if hit:
                if k not in family:
                    family[k] = ([], hit)
                    words.append(f"\0family{k}")
                family[k][0].append(hit[1])
                break
        else:
            words.append(method_words(method))
    for k, (parts, hit) in family.items():
        words[words.index(f"\0family{k}")] = _FAMILIES[k][1](parts, hit)  # type: ignore[operator]
    words = list(dict.fromkeys(w for w in words if w))
    return "Methods: " + ". ".join(words) + "." if words else ""


def mi_part_words(part: str) -> str:
    """One part of an MI method text in words: the imputation model's formula written out
    (``model CHG ~ ARM*AVISIT + BASE*AVISIT, UN REML``), any other part as recorded."""
    m = re.fullmatch(r"model (.+~.+?)(?:, (\w+) (\w+))?", part.strip())
    if not m:
        return part.strip()
    text = "imputation model: " + model_words(m[1])
    if m[2]:
        text += f"; {COVARIANCE.get(m[2], m[2])}, estimated by {ESTIMATION.get(m[3], m[3])}"
    return text


def estimand_methods_note(methods: dict[str, list[str]]) -> str:
    """The "Methods:" footnote of an estimands table from the MI method texts of each estimand
    (``estimand id -> texts``, in the table's order; each text "estimand X (role); <method>; ICE
    strategy: ...; model ...; ...; <data counts>"): what every text says once, what every text of
    one imputation method says once per method, and what is particular to an estimand (its ICE
    strategy, the values set missing or replaced) once per estimand; no role words (the rows say
    the role)."""
    split = {
        eid: [[p.strip() for p in t.split(";")][1:] for t in texts]
        for eid, texts in methods.items()
    }
    every = [ps for lst in split.values() for ps in lst]
    if not every:
        return ""
    common = [p for p in every[0] if all(p in ps for ps in every)]
    # the imputation method: the first part of each text (after the estimand)
    by_method: dict[str, list[list[str]]] = {}
    for ps in every:
        by_method.setdefault(ps[0], []).append(ps)
    method_parts = {
        m: [p for p in lst[0] if p not in common and all(p in ps for ps in lst)]
        for m, lst in by_method.items()
    }
    sentences = []
    if common:
        sentences.append("; ".join(mi_part_words(p) for p in common))
    for parts in (x for x in method_parts.values() if x):  # (one method: said in common)
        sentences.append(
            parts[0][:1].upper() + parts[0][1:] + (": " + "; ".join(parts[1:]) if parts[1:] else "")
        )
    for eid, lst in split.items():
        own = list(
            dict.fromkeys(
                p
                for ps in lst
                for p in ps
                if p not in common and p not in method_parts.get(ps[0], [])
            )
        )
        if own:
            sentences.append(f"{eid}: " + "; ".join(own))
    sentences = [x[:1].upper() + x[1:] for x in sentences]
    return "Methods: " + ". ".join(sentences) + "."
