"""(pair, ScoreResult) -> one FHIR R4 transaction Bundle (DESIGN.md §8, notes/fhir-mapping.md).

Observation (the score), DiagnosticReport (the feedback with the HTML view), Provenance (what
produced it), and optionally the two source reports as DocumentReference. Every entry is a
conditional PUT on an identifier, with no `id` in the body, so a retry after a lost response
updates instead of duplicating.

Identifiers: each resource carries two. The *stable* one, `<accession>` (per resource type's
system), is the key of the conditional PUT, so a corrected final updates the same resources in
place (status `corrected`) and a cancellation marks them `entered-in-error`. The *versioned*
one, `<accession>-<final version>`, records which final produced the current content.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from ingest import ClaimedPair, ReportInfo
from outbound.codes import (
    OBSERVATION_CATEGORY,
    PROVENANCE_AGENT_TYPE,
    UCUM,
    V2_0074,
    V2_0203,
    V3_OBSERVATION_VALUE,
    coding,
)
from outbound.config import FhirConfig
from scoring import ScoreResult

# Observation.status / DiagnosticReport.status per pairing state (both value sets share these).
FINAL, CORRECTED, ENTERED_IN_ERROR = "final", "corrected", "entered-in-error"
_NS = uuid.UUID("6f1c0c4e-5d1b-4d55-9a3e-7c1d2b7e9a10")


def identifier_value(accession: str) -> str:
    """Identifier values go into `identifier=system|value` URLs: no `|`, no surprises."""
    return accession.replace("|", "-").strip()


def hl7_instant(value: str, zone: str = "UTC") -> str | None:
    """An HL7 TS (YYYYMMDD[HHMM[SS]][+/-ZZZZ]) as a FHIR dateTime; None when it is not one.

    FHIR requires a zone once there is a time; a TS without an offset is in the sender's local
    time, which `fhir.source_timezone` names.
    """
    value = value.strip()
    digits, offset = value, ""
    for sign in "+-":
        if sign in value[8:]:
            cut = value.index(sign, 8)
            digits, offset = value[:cut], value[cut:]
    digits = digits.split(".")[0]
    formats = {14: "%Y%m%d%H%M%S", 12: "%Y%m%d%H%M"}
    try:
        if len(digits) in (8, 10) or len(digits) < 12:
            return datetime.strptime(digits[:8], "%Y%m%d").strftime("%Y-%m-%d")
        stamp = datetime.strptime(digits[:14] if len(digits) >= 14 else digits[:12],
                                  formats[14 if len(digits) >= 14 else 12])
        if offset and len(offset) == 5:
            tz = datetime.strptime(offset, "%z").tzinfo
        else:
            tz = ZoneInfo(zone)
        return stamp.replace(tzinfo=tz).isoformat(timespec="seconds")
    except (ValueError, KeyError):
        return None


def uses_llm(result: ScoreResult) -> bool:
    """AIAST only where an LLM's output is in the result (a context decision or the
    explanation): a pair that fell back entirely to the rules and the template asserts nothing
    artificial, whatever the configuration."""
    m = result.method
    explained = m.explainer == "llm" and "explainer:" not in (m.fallback or "")
    return explained or any(e.decided_by == "llm" for e in result.entities)


def status_for(pair: ClaimedPair, cancelled: bool = False) -> str:
    if cancelled:
        return ENTERED_IN_ERROR
    return CORRECTED if pair.version > 1 else FINAL


def _urn(kind: str, pair: ClaimedPair) -> str:
    return f"urn:uuid:{uuid.uuid5(_NS, f'{kind}|{pair.accession}|{pair.version}')}"


def _identifiers(config: FhirConfig, kind: str, pair: ClaimedPair) -> list[dict[str, str]]:
    base = f"{config.identifier_system}/{kind}"
    value = identifier_value(pair.accession)
    return [
        {"use": "official", "system": base, "value": value},
        {"use": "secondary", "system": f"{base}-version", "value": f"{value}-{pair.version}"},
    ]


def _put(resource_type: str, ident: dict[str, str]) -> dict[str, str]:
    query = quote(f"{ident['system']}|{ident['value']}", safe=":/")
    return {"method": "PUT", "url": f"{resource_type}?identifier={query}"}


def build_bundle(
    pair: ClaimedPair,
    result: ScoreResult,
    html: str,
    config: FhirConfig,
    *,
    cancelled: bool = False,
    scored_at: datetime | None = None,
) -> dict[str, Any]:
    """The transaction Bundle for one scoring event (or its cancellation)."""
    scored_at = scored_at or datetime.now(UTC)
    issued = scored_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    status = status_for(pair, cancelled)
    based_on = {
        "type": "ServiceRequest",
        "identifier": {
            "type": {"coding": [{"system": V2_0203, "code": "ACSN"}], "text": "Accession ID"},
            "system": config.accession_system,
            "value": pair.accession,
        },
    }
    subject = {"identifier": {"system": config.patient_system, "value": pair.final.patient_id}}
    fell_back = " with rules fallback" if result.method.fallback else ""
    device = {"display": f"radagree {result.method.version} ({result.method.ner}/"
                         f"{result.method.classifier}{fell_back})"}
    meta: dict[str, Any] = {}
    if uses_llm(result):
        meta = {"security": [{"system": V3_OBSERVATION_VALUE, "code": "AIAST",
                              "display": "Artificial Intelligence asserted"}]}
    obs_ids = _identifiers(config, "observation", pair)
    dr_ids = _identifiers(config, "diagnosticreport", pair)
    obs_urn, dr_urn, prov_urn = _urn("obs", pair), _urn("dr", pair), _urn("prov", pair)
    entries: list[dict[str, Any]] = []

    documents: list[dict[str, str]] = []
    if config.send_documents:
        for report, doc_status in ((pair.prelim, "preliminary"), (pair.final, "final")):
            doc, urn = _document(pair, report, doc_status, config, subject, based_on)
            entries.append(doc)
            documents.append({"reference": urn})

    counts = result.counts
    components = [
        _int_component("findings-matched", counts.matched),
        _int_component("findings-missing", counts.missing),
        _int_component("findings-mismatched", counts.mismatched),
        _int_component("findings-surplus", counts.surplus),
        _int_component("agreement-grade", result.grade),
        {"code": coding("discrepancy"),
         "valueCodeableConcept": coding(f"discrepancy-{result.discrepancy}")},
    ]
    if result.method.fallback:  # DESIGN §9: a fallback is flagged in FHIR, not only in method
        components.append({"code": coding("scoring-fallback"),
                           "valueString": result.method.fallback})
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": obs_ids,
        "basedOn": [based_on],
        "status": status,
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "imaging",
                                  "display": "Imaging"}]}],
        "code": coding("prelim-final-agreement"),
        "subject": subject,
        "issued": issued,
        "device": device,
        "valueQuantity": {"value": round(result.esas, 4), "unit": "1", "system": UCUM,
                          "code": "1"},
        "note": [{"text": result.explanation}],
        "component": components,
    }
    effective = hl7_instant(pair.final.status_changed_at or pair.final.observed_at,
                            config.source_timezone)
    if effective:
        observation["effectiveDateTime"] = effective
    if documents:
        observation["derivedFrom"] = documents
    if meta:
        observation["meta"] = meta
    entries.append({"fullUrl": obs_urn, "resource": observation,
                    "request": _put("Observation", obs_ids[0])})

    data = html.encode("utf-8")
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "identifier": dr_ids,
        "basedOn": [based_on],
        "status": status,
        "category": [{"coding": [{"system": V2_0074, "code": "RAD", "display": "Radiology"}]}],
        "code": coding("agreement-report"),
        "subject": subject,
        "issued": issued,
        "result": [{"reference": obs_urn}],
        "conclusion": conclusion(result),
        "presentedForm": [{
            "contentType": "text/html; charset=utf-8",
            "data": base64.b64encode(data).decode("ascii"),
            "size": len(data),
            "hash": base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),
            "title": f"Preliminary vs final agreement, accession {pair.accession}",
        }],
    }
    if effective:
        report["effectiveDateTime"] = effective
    if meta:
        report["meta"] = meta
    entries.append({"fullUrl": dr_urn, "resource": report,
                    "request": _put("DiagnosticReport", dr_ids[0])})

    # Provenance has no identifier in R4; a client-assigned id per scoring event makes its
    # PUT idempotent too (one Provenance per score, one per cancellation).
    event = f"{pair.accession}|{pair.version}|{'cancelled' if cancelled else 'scored'}"
    prov_id = "radagree-" + hashlib.sha1(event.encode("utf-8")).hexdigest()[:40]
    provenance: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": prov_id,
        "target": [{"reference": obs_urn}, {"reference": dr_urn}],
        "recorded": issued,
        "activity": {"text": "cancelled" if cancelled else "scored"},
        "agent": [{
            "type": {"coding": [{"system": PROVENANCE_AGENT_TYPE, "code": "assembler",
                                 "display": "Assembler"}]},
            "who": device,
        }],
        "entity": [
            {"role": "source", "what": {"identifier": {
                "system": f"{config.identifier_system}/report",
                "value": f"{identifier_value(pair.accession)}-{which}-{report_info.id}"},
                "display": f"{which} report"}}
            for which, report_info in (("preliminary", pair.prelim), ("final", pair.final))
        ],
    }
    entries.append({"fullUrl": prov_urn, "resource": provenance,
                    "request": {"method": "PUT", "url": f"Provenance/{prov_id}"}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def conclusion(result: ScoreResult) -> str:
    return (f"Grade {result.grade} - {result.discrepancy} discrepancy; "
            f"agreement score {result.esas:.2f}")


def _int_component(code: str, value: int) -> dict[str, Any]:
    return {"code": coding(code), "valueInteger": int(value)}


def _document(
    pair: ClaimedPair, report: ReportInfo, doc_status: str, config: FhirConfig,
    subject: dict[str, Any], based_on: dict[str, Any],
) -> tuple[dict[str, Any], str]:
    ident = {"system": f"{config.identifier_system}/report",
             "value": f"{identifier_value(pair.accession)}-{doc_status}-{report.id}"}
    urn = f"urn:uuid:{uuid.uuid5(_NS, ident['value'])}"
    text = report.text.encode("utf-8")
    resource = {
        "resourceType": "DocumentReference",
        "identifier": [ident],
        "status": "current",
        "docStatus": doc_status,
        "subject": subject,
        "context": {"related": [based_on]},
        "content": [{"attachment": {
            "contentType": "text/plain; charset=utf-8",
            "data": base64.b64encode(text).decode("ascii"),
            "size": len(text),
        }}],
    }
    return {"fullUrl": urn, "resource": resource, "request": _put("DocumentReference", ident)}, urn
