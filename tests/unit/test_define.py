"""define.xml 2.1 validated against the CDISC Define-XML 2.1 schema; analysis results metadata."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from test_tlf_data import CUT, adae, adeff, adlb, adsl, adtte, build_ard, study

from hepatrial.define import analysis_results, define_xml
from hepatrial.tlf.tables import ARD

etree = pytest.importorskip("lxml.etree")
defineutils = pytest.importorskip("defineutils")
XSD = Path(defineutils.__file__).parent / "validate/schema/cdisc-define-2.1/define2-1-0.xsd"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    return study(tmp_path_factory.mktemp("d"))


@pytest.fixture(scope="module")
def doc(st):
    units = {"BILI": "umol/L", "ALB": "g/L", "INR": ""}
    lab = adlb().with_columns(
        pl.col("PARAMCD")
        .replace_strict({p: f"{p} test ({u})" if u else f"{p} test" for p, u in units.items()})
        .alias("PARAM")
    )
    data = {"adsl": adsl(), "adeff": adeff(), "adlb": lab, "adtte": adtte(), "adae": adae()}
    return data, etree.fromstring(define_xml(data, st, CUT, f"{CUT}T00:00:00").encode("utf-8"))


def test_valid_against_the_cdisc_define_2_1_schema(doc):
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(doc[1]), "\n".join(str(e) for e in list(schema.error_log)[:5])


def test_datasets_variables_labels_types_lengths(doc):
    data, root = doc
    groups = root.findall(".//odm:ItemGroupDef", NS)
    assert [g.get("Name") for g in groups] == [n.upper() for n in data]
    adsl_g = groups[0]
    label = adsl_g.find("odm:Description/odm:TranslatedText", NS).text
    assert label == "Subject-Level Analysis Dataset"
    assert adsl_g.find("def:Class", NS).get("Name") == "SUBJECT LEVEL ANALYSIS DATASET"
    assert len(adsl_g.findall("odm:ItemRef", NS)) == len(data["adsl"].columns)
    items = {i.get("OID"): i for i in root.findall(".//odm:ItemDef", NS)}
    usubjid = items["IT.ADSL.USUBJID"]
    assert usubjid.get("DataType") == "text" and usubjid.get("Length") == "2"  # "S1".."S6"
    label = usubjid.find("odm:Description/odm:TranslatedText", NS).text
    assert label == "Unique Subject Identifier"
    assert items["IT.ADSL.AGE"].get("DataType") == "float"
    assert items["IT.ADSL.DTHDT"].get("{http://www.cdisc.org/ns/def/v2.1}DisplayFormat") == "DATE9."
    origin = items["IT.ADSL.AGE"].find("def:Origin", NS)
    assert origin.get("Type") == "Predecessor"


def test_codelists_and_derivations(doc):
    _, root = doc
    cl = root.find(".//odm:CodeList[@OID='CL.ADSL.SEX']", NS)
    assert [e.get("CodedValue") for e in cl.findall("odm:EnumeratedItem", NS)] == ["F", "M"]
    method = root.find(".//odm:MethodDef[@OID='MT.ADEFF.CHG']", NS)
    text = method.find("odm:Description/odm:TranslatedText", NS).text
    assert text == "AVAL - BASE for post-baseline records."
    ref = root.find(".//odm:ItemRef[@ItemOID='IT.ADEFF.CHG']", NS)
    assert ref.get("MethodOID") == "MT.ADEFF.CHG"


def test_analysis_results_map_each_table_to_its_ard_rows(st):
    frame = build_ard(st)
    ard = ARD(frame, st, CUT)
    names = ["disposition", "mmrm_MELD", "ae_soc_pt"]
    arm = analysis_results(ard, names, {"disposition": "14.1.1"})
    by = {t["table"]: t for t in arm["tables"]}
    assert by["disposition"]["number"] == "14.1.1"
    assert set(by["mmrm_MELD"]["analyses"]) >= {"MMRM_LSMEAN", "MMRM_DIFF", "BIGN"}
    keys = set(frame.select("analysis", "paramcd", "population", "arm", "stat").iter_rows())
    for t in arm["tables"]:
        assert t["n_ard_rows"] == len(t["ard_rows"]) > 0
        for r in t["ard_rows"]:  # every row named is a row of the ARD
            assert (r["analysis"], r["paramcd"], r["population"], r["arm"], r["stat"]) in keys
    got = pl.DataFrame(by["disposition"]["ard_rows"])
    assert set(got["analysis"].to_list()) == {"DISPOSITION", "BIGN"}


def test_value_level_metadata_of_the_bds_datasets(doc):
    """AVAL of each BDS dataset has a value list: one ItemDef per PARAMCD (type, length, digits,
    the ADLB unit), each with a where-clause PARAMCD EQ value; ADTTE (one meaning of AVAL) has none."""
    data, root = doc
    items = {i.get("OID"): i for i in root.findall(".//odm:ItemDef", NS)}
    where = {w.get("OID"): w for w in root.findall(".//def:WhereClauseDef", NS)}
    units = {
        u.get("OID"): u.get("Name")
        for u in root.findall(".//odm:BasicDefinitions/odm:MeasurementUnit", NS)
    }
    lists = {v.get("OID"): v for v in root.findall(".//def:ValueListDef", NS)}
    assert set(lists) == {"VL.ADEFF.AVAL", "VL.ADLB.AVAL"}
    for ds in ("ADEFF", "ADLB"):
        ref = items[f"IT.{ds}.AVAL"].find("def:ValueListRef", NS)
        assert ref.get("ValueListOID") == f"VL.{ds}.AVAL"
        params = sorted(set(data[ds.lower()]["PARAMCD"]))
        got = []
        for r in lists[f"VL.{ds}.AVAL"].findall("odm:ItemRef", NS):
            wc = where[r.find("def:WhereClauseRef", NS).get("WhereClauseOID")].find(
                "odm:RangeCheck", NS
            )
            assert (
                wc.get(f"{{{NS['def']}}}ItemOID") == f"IT.{ds}.PARAMCD"
                and wc.get("Comparator") == "EQ"
            )
            got.append(wc.find("odm:CheckValue", NS).text)
            assert r.get("ItemOID") == f"IT.{ds}.AVAL.{got[-1]}" and r.get("ItemOID") in items
        assert got == params
    meld, ctp = items["IT.ADEFF.AVAL.MELD"], items["IT.ADEFF.AVAL.CTPCLASS"]
    assert (meld.get("DataType"), meld.get("Length")) == ("integer", "2")  # 12..23
    assert (ctp.get("DataType"), ctp.get("Length")) == ("integer", "1")  # class 1-3
    inr, bili = items["IT.ADLB.AVAL.INR"], items["IT.ADLB.AVAL.BILI"]
    assert (inr.get("DataType"), inr.get("SignificantDigits")) == ("float", "1")  # 1.1, 0.7
    assert inr.find("odm:MeasurementUnitRef", NS) is None  # no unit in its PARAM
    assert units[bili.find("odm:MeasurementUnitRef", NS).get("MeasurementUnitOID")] == "umol/L"
    assert bili.find("odm:Description/odm:TranslatedText", NS).text == "BILI test (umol/L)"
    assert not [v for v in lists if v.startswith("VL.ADTTE")]


def test_analysis_results_carry_the_model_fit_from_the_ard(st):
    """Each MMRM table's entry has the fit statistics of its model as the ARD holds them."""
    model = "TOEPH REML Kenward-Roger; CHG ~ BASE + CTPSTRAT + ARM * AVISIT"  # as the mmrm step writes it
    frame = build_ard(st)
    frame = frame.with_columns(
        pl.when(pl.col("analysis") == "MMRM_FIT")
        .then(pl.lit(model))
        .otherwise(pl.col("method"))
        .alias("method")
    )
    ard = ARD(frame, st, CUT)
    arm = analysis_results(ard, ["mmrm_MELD", "disposition"])
    by = {t["table"]: t for t in arm["tables"]}
    assert "model_fit" not in by["disposition"]
    (fit,) = by["mmrm_MELD"]["model_fit"]
    rows = frame.filter(
        (pl.col("analysis") == "MMRM_FIT")
        & (pl.col("paramcd") == "MELD")
        & (pl.col("population") == "ITT")
    )
    stat = dict(rows.select("stat", "value").iter_rows())
    method = rows["method"][0]
    assert fit["method"] == method and fit["converged"] is (stat["converged"] == 1)
    assert (fit["covariance_structure"], fit["estimation"], fit["df_method"]) == (
        "TOEPH",
        "REML",
        "Kenward-Roger",
    )
    assert fit["model"] == "CHG ~ BASE + CTPSTRAT + ARM * AVISIT"
    assert fit["minus2_reml_loglik"] == -2 * stat["reml_loglik"] == 41.0
    assert fit["aic"] == stat["aic"] == 47.0 and (fit["n_subjects"], fit["n_obs"]) == (5, 9)
    assert {r["stat"] for r in fit["ard_rows"]} == set(stat)


def test_integer_length_is_the_digits_of_the_value_farthest_from_zero():
    from hepatrial.define import _length

    # written out: -12345 has 5 digits, 678 has 3; the sign is not a digit
    assert _length(pl.Series([678, None, -12345, 9]), "integer") == (5, None)
    assert _length(pl.Series([0, 7]), "integer") == (1, None)
    assert _length(pl.Series([None], dtype=pl.Int64), "integer") == (1, None)
    # the Int64 minimum has 19 digits; abs() of it overflows in Int64, not in Python
    assert _length(pl.Series([-(2**63), 1]), "integer") == (19, None)
    # integral floats (AVAL of an integer score) count the same way
    assert _length(pl.Series([3.0, -40.0]).cast(pl.Int64), "integer") == (2, None)


def test_codelist_values_only_for_columns_with_few_distinct_values():
    from hepatrial.define import CODELIST_MAX, _few_values

    assert _few_values(pl.Series(["b", None, "a", "b"])) == ["a", "b"]
    many = [f"v{i}" for i in range(CODELIST_MAX + 1)]
    assert _few_values(pl.Series(many)) == []
    assert _few_values(pl.Series(many[:-1] * 3)) == sorted(many[:-1])
    # more than CODELIST_MAX values after the first 10 000 rows: still no codelist
    late = ["x"] * 10_000 + many
    assert _few_values(pl.Series(late)) == []


def test_float_significant_digits_count_every_value_not_the_first_rows():
    """SignificantDigits is the most decimals of any value (written in shortest round-trip
    digits, as repr), however far down the column it is; at most 8, at least 1."""
    from hepatrial.define import _length

    # written out: 1.5 has 1 decimal, 0.125 has 3; the 0.125 is row 6001
    assert _length(pl.Series([1.5] * 6000 + [0.125]), "float") == (8, 3)
    # a unit conversion's float noise (0.1 * 3 = 0.30000000000000004: 17 decimals) is capped at 8
    assert _length(pl.Series([2.0] * 6000 + [0.1 * 3]), "float") == (8, 8)
    # whole numbers and missing or infinite values only: 0 decimals, reported as 1
    assert _length(pl.Series([2.0, None, float("inf"), float("nan")]), "float") == (8, 1)
    # repr writes 1e-07 with an exponent: counted 0, as before; 0.0001 has 4
    assert _length(pl.Series([1e-7, 0.0001]), "float") == (8, 4)
