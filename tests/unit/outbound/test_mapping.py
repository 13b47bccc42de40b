"""The FHIR mapping: every bundle we build validates (R4B + our binding and reference checks),
and each check catches what fhir.resources lets through."""

from __future__ import annotations

import base64
import copy
import hashlib
from dataclasses import replace

import pytest

from outbound import FhirConfig, build_bundle, cancellation_of, problems, provenance_id
from outbound.codes import CODE_SYSTEM, code_system
from scoring import render_html
from support.fhir import pair


@pytest.fixture(scope="module")
def scored(scorer, omission_pair):
    prelim, final = omission_pair
    result = scorer.score(prelim, final)
    return pair(prelim, final), result, render_html(result, prelim, final)


def resources(bundle):
    return {e["resource"]["resourceType"]: e for e in bundle["entry"]}


def labels(resource) -> set[str]:
    return {c["code"] for c in resource.get("meta", {}).get("security", [])}


def test_omission_bundle_is_valid_and_carries_the_score(scored):
    p, result, html = scored
    bundle = build_bundle(p, result, html, FhirConfig())
    assert problems(bundle) == []
    by_type = resources(bundle)
    assert set(by_type) == {"Observation", "DiagnosticReport", "Provenance"}
    obs = by_type["Observation"]["resource"]
    assert obs["status"] == "final"
    assert obs["valueQuantity"]["value"] == round(result.esas, 4)
    components = {c["code"]["coding"][0]["code"]: c for c in obs["component"]}
    assert components["findings-missing"]["valueInteger"] == result.counts.missing >= 1
    assert components["agreement-grade"]["valueInteger"] == result.grade
    assert obs["note"][0]["text"] == result.explanation
    assert obs["basedOn"][0]["identifier"]["type"]["coding"][0]["code"] == "ACSN"
    assert obs["code"]["text"] and "AIAST" not in labels(obs)  # no LLM took part
    assert obs["effectiveDateTime"] == "2026-11-26T10:15:00+00:00"
    report = by_type["DiagnosticReport"]["resource"]
    form = report["presentedForm"][0]
    data = base64.b64decode(form["data"])
    assert data == html.encode("utf-8") and form["size"] == len(data)
    assert form["hash"] == base64.b64encode(hashlib.sha1(data).digest()).decode()
    assert report["result"] == [{"reference": by_type["Observation"]["fullUrl"]}]


def test_conditional_put_on_a_stable_identifier_without_id(scored):
    p, result, html = scored
    bundle = build_bundle(p, result, html, FhirConfig())
    for kind in ("Observation", "DiagnosticReport"):
        entry = resources(bundle)[kind]
        assert "id" not in entry["resource"]
        stable = entry["resource"]["identifier"][0]
        assert entry["request"] == {
            "method": "PUT",
            "url": f"{kind}?identifier={stable['system']}%7C{stable['value']}"}
        assert entry["resource"]["identifier"][1]["value"] == "ACC1-1"


def test_corrected_and_cancelled_statuses(scored):
    _, result, html = scored
    corrected = build_bundle(pair("a", "b", version=2), result, html, FhirConfig())
    assert resources(corrected)["Observation"]["resource"]["status"] == "corrected"
    cancelled = cancellation_of(corrected, "ACC1", 2)
    assert problems(cancelled) == []
    for kind in ("Observation", "DiagnosticReport"):
        assert resources(cancelled)[kind]["resource"]["status"] == "entered-in-error"
    # one Provenance rule for both events: accession, final version, activity
    scored_provenance = resources(corrected)["Provenance"]
    cancel_provenance = resources(cancelled)["Provenance"]
    assert scored_provenance["resource"]["id"] == provenance_id("ACC1", 2, "scored")
    assert cancel_provenance["resource"]["id"] == provenance_id("ACC1", 2, "cancelled")
    assert cancel_provenance["request"]["url"].endswith(cancel_provenance["resource"]["id"])
    assert cancel_provenance["resource"]["activity"] == {"text": "cancelled"}
    assert resources(corrected)["Provenance"]["resource"]["activity"] == {"text": "scored"}


def test_llm_results_are_tagged_aiast(scored):
    p, result, html = scored
    rows = [result.entities[0].model_copy(update={"decided_by": "llm"}), *result.entities[1:]]
    llm = result.model_copy(update={"entities": rows, "method": result.method.model_copy(
        update={"classifier": "llm"})})
    obs = resources(build_bundle(p, llm, html, FhirConfig()))["Observation"]["resource"]
    assert "AIAST" in labels(obs)
    assert "fallback" not in obs["device"]["display"]


def test_a_rules_fallback_is_flagged_and_asserts_no_ai(scored):
    p, result, html = scored
    rows = [e.model_copy(update={"decided_by": "rules-fallback"}) for e in result.entities]
    fell_back = result.model_copy(update={"entities": rows, "method": result.method.model_copy(
        update={"classifier": "llm", "fallback": "classifier:rules (LLM unavailable)"})})
    bundle = build_bundle(p, fell_back, html, FhirConfig())
    assert problems(bundle) == []
    obs = resources(bundle)["Observation"]["resource"]
    assert "AIAST" not in labels(obs)  # no LLM output in this result
    flag = obs["component"][-1]
    assert flag["code"]["coding"][0]["code"] == "scoring-fallback"
    assert flag["valueString"] == "classifier:rules (LLM unavailable)"
    assert "rules fallback" in obs["device"]["display"]


def test_documents_when_asked(scored):
    p, result, html = scored
    bundle = build_bundle(p, result, html, FhirConfig(send_documents=True))
    assert problems(bundle) == []
    docs = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"]
    assert [d["resource"]["docStatus"] for d in docs] == ["preliminary", "final"]
    obs = resources(bundle)["Observation"]["resource"]
    assert obs["derivedFrom"] == [{"reference": d["fullUrl"]} for d in docs]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda b: b["entry"][0]["resource"].update(status="bogus"), "status 'bogus'"),
        (lambda b: b["entry"][0]["resource"].update(
            derivedFrom=[{"reference": "DiagnosticReport/1"}]),
         "derivedFrom may not reference DiagnosticReport"),
        (lambda b: b["entry"][0]["resource"].update(valueString="x"), "value"),
        (lambda b: b["entry"][0]["resource"]["code"]["coding"][0].update(code="nope"),
         f"'nope' is not in {CODE_SYSTEM}"),
        (lambda b: b["entry"][0]["resource"].update(id="abc"), "must not carry an id"),
        (lambda b: b["entry"][0]["resource"]["identifier"][0].update(value="a|b"), "'|'"),
        (lambda b: b["entry"][1]["resource"].update(result=[{"reference": "Patient/1"}]),
         "result may not reference Patient"),
    ],
)
def test_each_check_catches_its_fault(scored, breakage, message):
    p, result, html = scored
    bundle = copy.deepcopy(build_bundle(p, result, html, FhirConfig()))
    breakage(bundle)
    assert any(message in issue for issue in problems(bundle)), problems(bundle)


def test_code_system_is_complete_and_valid():
    from fhir.resources.R4B.codesystem import CodeSystem

    cs = CodeSystem.model_validate(code_system())
    assert cs.url == CODE_SYSTEM and cs.count == len(cs.concept)


def test_every_resource_is_labelled_restricted_quality_improvement_by_default(scored):
    p, result, html = scored
    bundle = build_bundle(p, result, html, FhirConfig(send_documents=True))
    assert problems(bundle) == []
    for entry in bundle["entry"]:
        security = entry["resource"]["meta"]["security"]
        assert {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                "code": "R", "display": "restricted"} in security
        assert any(c["code"] == "HQUALIMP" and c["system"].endswith("v3-ActReason")
                   for c in security)
    off = build_bundle(p, result, html, FhirConfig(security_labels=False))
    assert all("meta" not in e["resource"] for e in off["entry"])
    very = build_bundle(p, result, html, FhirConfig(confidentiality="V",
                                                    purpose_of_use="HOPERAT"))
    assert labels(resources(very)["Observation"]["resource"]) == {"V", "HOPERAT"}


def test_trainee_and_attending_are_named_by_practitioner_identifier(scored):
    _, result, html = scored
    p = pair("a", "b")
    p = replace(p, prelim=replace(p.prelim, resident="R123^Resident^Rita^^^^^^HOSP"),
                final=replace(p.final, attending="A456&Attending&Alan&&&Dr&&&OTHER"))
    config = FhirConfig(send_documents=True,
                        practitioner_systems={"HOSP": "https://hospital.example/sid/staff"})
    bundle = build_bundle(p, result, html, config)
    assert problems(bundle) == []
    provenance = resources(bundle)["Provenance"]["resource"]
    by_role = {e["what"]["display"]: e["agent"][0] for e in provenance["entity"]}
    trainee, attending = by_role["preliminary report"], by_role["final report"]
    assert trainee["type"]["coding"][0]["code"] == "author"
    assert trainee["who"] == {"type": "Practitioner", "display": "Rita Resident",
                              "identifier": {"system": "https://hospital.example/sid/staff",
                                             "value": "R123",
                                             "assigner": {"display": "HOSP"}}}
    assert attending["type"]["coding"][0]["code"] == "legal"
    assert attending["who"]["identifier"]["system"] == "urn:radagree:practitioner-id"
    assert attending["who"]["identifier"]["value"] == "A456"
    assert attending["who"]["display"] == "Dr Alan Attending"
    documents = [e["resource"] for e in bundle["entry"]
                 if e["resource"]["resourceType"] == "DocumentReference"]
    by_status = {d["docStatus"]: d for d in documents}
    assert by_status["preliminary"]["author"] == [trainee["who"]]
    assert by_status["final"]["authenticator"] == attending["who"]
    # the people stay in a cancellation (it copies the sent bundle)
    cancelled = cancellation_of(bundle, "ACC1", 1)
    assert resources(cancelled)["Provenance"]["resource"]["entity"] == provenance["entity"]


def test_exam_and_discrepant_findings_are_coded(scorer):
    """Modality (DICOM), body region (RadLex) and each finding the reports disagree on, coded
    in the vocabulary's sources, so a RIS can file the feedback without reading text."""
    prelim = "FINDINGS: No acute intracranial abnormality.\nIMPRESSION: Normal head CT."
    final = ("FINDINGS: Acute right subdural hematoma with midline shift.\n"
             "IMPRESSION: Acute subdural hematoma.")
    result = scorer.score(prelim, final, "70450^CT HEAD WO CONTRAST^CPT4")
    bundle = build_bundle(pair(prelim, final), result, render_html(result, prelim, final),
                          FhirConfig())
    assert problems(bundle) == []
    obs = resources(bundle)["Observation"]["resource"]
    components = {c["code"]["coding"][0]["code"]: c for c in obs["component"]}
    modality = components["imaging-modality"]["valueCodeableConcept"]["coding"][0]
    assert (modality["system"], modality["code"]) == ("http://dicom.nema.org/resources/ontology/"
                                                      "DCM", "CT")
    assert obs["bodySite"]["coding"][0] == {"system": "http://radlex.org", "code": "RID9080",
                                            "display": "head"}
    codes = resources(bundle)["DiagnosticReport"]["resource"]["conclusionCode"]
    subdural = [c for c in codes if "subdural" in c["text"]]
    assert subdural and any(cd["system"] == "https://github.com/openimagingdata/findingmodels"
                            for cd in subdural[0]["coding"])
    assert all(not c["text"].startswith("matched") for c in codes)
