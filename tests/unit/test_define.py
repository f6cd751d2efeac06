"""define.xml 2.1 validated against the CDISC Define-XML 2.1 schema; analysis results metadata."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hepatrial.define import analysis_results, define_xml
from hepatrial.tlf.tables import ARD
from test_tlf_data import CUT, adae, adeff, adsl, adtte, build_ard, study

etree = pytest.importorskip("lxml.etree")
defineutils = pytest.importorskip("defineutils")
XSD = Path(defineutils.__file__).parent / "validate/schema/cdisc-define-2.1/define2-1-0.xsd"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}


@pytest.fixture(scope="module")
def st(tmp_path_factory):
    return study(tmp_path_factory.mktemp("d"))


@pytest.fixture(scope="module")
def doc(st):
    data = {"adsl": adsl(), "adeff": adeff(), "adtte": adtte(), "adae": adae()}
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
