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
import copy
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from ingest import ClaimedPair, Person, ReportInfo, parse_person
from outbound.codes import (
    DICOM_DCM,
    DICOM_MODALITY,
    OBSERVATION_CATEGORY,
    PROVENANCE_AGENT_TYPE,
    REGION_RADLEX,
    SOURCE_SYSTEMS,
    UCUM,
    V2_0074,
    V2_0203,
    V3_ACT_REASON,
    V3_CONFIDENTIALITY,
    V3_OBSERVATION_VALUE,
    coding,
)
from outbound.config import FhirConfig
from scoring import ScoreResult

# Observation.status / DiagnosticReport.status per pairing state (both value sets share these).
FINAL, CORRECTED, ENTERED_IN_ERROR = "final", "corrected", "entered-in-error"
# Provenance activities.
SCORED, CANCELLED = "scored", "cancelled"
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


def status_for(pair: ClaimedPair) -> str:
    return CORRECTED if pair.version > 1 else FINAL


def provenance_id(accession: str, version: int, activity: str) -> str:
    """Provenance has no identifier in R4: a client-assigned id per event (accession, final
    version, `scored` or `cancelled`) makes its PUT idempotent too."""
    event = f"{accession}|{version}|{activity}"
    return "radagree-" + hashlib.sha1(event.encode("utf-8")).hexdigest()[:40]


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


@dataclass(frozen=True, slots=True)
class _Event:
    """What every resource of one scoring event's bundle shares."""

    pair: ClaimedPair
    config: FhirConfig
    issued: str
    based_on: dict[str, Any]
    subject: dict[str, Any]
    device: dict[str, str]
    meta: dict[str, Any]
    effective: str | None
    # The preliminary's author (trainee) and the final's attending, as Practitioner
    # references by identifier (None when the configured field names nobody).
    trainee: dict[str, Any] | None = None
    attending: dict[str, Any] | None = None

    @classmethod
    def of(cls, pair: ClaimedPair, result: ScoreResult, config: FhirConfig,
           scored_at: datetime) -> _Event:
        fell_back = " with rules fallback" if result.method.fallback else ""
        labels = security_labels(config)
        if uses_llm(result):
            labels.append({"system": V3_OBSERVATION_VALUE, "code": "AIAST",
                           "display": "Artificial Intelligence asserted"})
        meta: dict[str, Any] = {"security": labels} if labels else {}
        return cls(
            pair=pair, config=config,
            issued=scored_at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            based_on={"type": "ServiceRequest", "identifier": {
                "type": {"coding": [{"system": V2_0203, "code": "ACSN"}],
                         "text": "Accession ID"},
                "system": config.accession_system, "value": pair.accession}},
            subject={"identifier": {"system": config.patient_system,
                                    "value": pair.final.patient_id}},
            device={"display": f"radagree {result.method.version} ({result.method.ner}/"
                               f"{result.method.classifier}{fell_back})"},
            meta=meta,
            effective=hl7_instant(pair.final.status_changed_at or pair.final.observed_at,
                                  config.source_timezone),
            trainee=practitioner(parse_person(pair.prelim.resident), config),
            attending=practitioner(parse_person(pair.final.attending), config),
        )

    def common(self) -> dict[str, Any]:
        """The elements Observation and DiagnosticReport both carry."""
        out: dict[str, Any] = {"basedOn": [self.based_on], "status": status_for(self.pair),
                               "subject": self.subject, "issued": self.issued}
        if self.effective:
            out["effectiveDateTime"] = self.effective
        if self.meta:
            out["meta"] = self.meta
        return out


_CONFIDENTIALITY = {"U": "unrestricted", "L": "low", "M": "moderate", "N": "normal",
                    "R": "restricted", "V": "very restricted"}


def security_labels(config: FhirConfig) -> list[dict[str, str]]:
    """Confidentiality (restricted by default) and purpose of use (health-care quality
    improvement by default): the labels that let a RIS keep QI work product out of the chart."""
    if not config.security_labels:
        return []
    return [
        {"system": V3_CONFIDENTIALITY, "code": config.confidentiality,
         "display": _CONFIDENTIALITY[config.confidentiality]},
        {"system": V3_ACT_REASON, "code": config.purpose_of_use,
         **({"display": "health quality improvement"}
            if config.purpose_of_use == "HQUALIMP" else {})},
    ]


def practitioner(person: Person | None, config: FhirConfig) -> dict[str, Any] | None:
    """A Practitioner reference by identifier (no Practitioner resource has to exist): the
    XCN id in the system of its assigning authority, the name as display."""
    if person is None:
        return None
    if not person.id:
        return {"type": "Practitioner", "display": person.name}
    system = config.practitioner_systems.get(person.authority, config.practitioner_system)
    identifier: dict[str, Any] = {"system": system, "value": person.id}
    if person.authority:
        identifier["assigner"] = {"display": person.authority}
    reference: dict[str, Any] = {"type": "Practitioner", "identifier": identifier}
    if person.name:
        reference["display"] = person.name
    return reference


def build_bundle(
    pair: ClaimedPair,
    result: ScoreResult,
    html: str,
    config: FhirConfig,
    *,
    scored_at: datetime | None = None,
) -> dict[str, Any]:
    """The transaction Bundle for one scoring event. (Its cancellation is `cancellation_of`
    this bundle: the score and the view are not made again.)"""
    event = _Event.of(pair, result, config, scored_at or datetime.now(UTC))
    entries: list[dict[str, Any]] = []
    if config.send_documents:
        entries += [_document(event, report, doc_status)
                    for report, doc_status in ((pair.prelim, "preliminary"), (pair.final, "final"))]
    documents = [{"reference": e["fullUrl"]} for e in entries]
    entries.append(_observation(event, result, documents))
    entries.append(_diagnostic_report(event, result, html))
    entries.append(_provenance(event))
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _observation(event: _Event, result: ScoreResult,
                 documents: list[dict[str, str]]) -> dict[str, Any]:
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
    modality = modality_code(result.exam.modality)
    if modality is not None:
        components.append({"code": coding("imaging-modality"),
                           "valueCodeableConcept": modality})
    identifiers = _identifiers(event.config, "observation", event.pair)
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": identifiers,
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "imaging",
                                  "display": "Imaging"}]}],
        "code": coding("prelim-final-agreement"),
        **event.common(),
        "device": event.device,
        "valueQuantity": {"value": round(result.esas, 4), "unit": "1", "system": UCUM,
                          "code": "1"},
        "note": [{"text": result.explanation}],
        "component": components,
    }
    if documents:
        observation["derivedFrom"] = documents
    site = body_site(result.exam.region)
    if site is not None:
        observation["bodySite"] = site
    return {"fullUrl": _urn("obs", event.pair), "resource": observation,
            "request": _put("Observation", identifiers[0])}


def _diagnostic_report(event: _Event, result: ScoreResult, html: str) -> dict[str, Any]:
    data = html.encode("utf-8")
    identifiers = _identifiers(event.config, "diagnosticreport", event.pair)
    report: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "identifier": identifiers,
        "category": [{"coding": [{"system": V2_0074, "code": "RAD", "display": "Radiology"}]}],
        "code": coding("agreement-report"),
        **event.common(),
        "result": [{"reference": _urn("obs", event.pair)}],
        "conclusion": conclusion(result),
        **({"conclusionCode": codes} if (codes := discrepant_findings(result)) else {}),
        "presentedForm": [{
            "contentType": "text/html; charset=utf-8",
            "data": base64.b64encode(data).decode("ascii"),
            "size": len(data),
            "hash": base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),
            "title": f"Preliminary vs final agreement, accession {event.pair.accession}",
        }],
    }
    return {"fullUrl": _urn("dr", event.pair), "resource": report,
            "request": _put("DiagnosticReport", identifiers[0])}


def _provenance(event: _Event) -> dict[str, Any]:
    pair, config = event.pair, event.config
    prov_id = provenance_id(pair.accession, pair.version, SCORED)
    provenance: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": prov_id,
        "target": [{"reference": _urn("obs", pair)}, {"reference": _urn("dr", pair)}],
        "recorded": event.issued,
        "activity": {"text": SCORED},
        "agent": [{
            "type": {"coding": [{"system": PROVENANCE_AGENT_TYPE, "code": "assembler",
                                 "display": "Assembler"}]},
            "who": event.device,
        }],
        "entity": [
            _source(config, pair.accession, which, report_info.id, who, role)
            for which, report_info, who, role in (
                ("preliminary", pair.prelim, event.trainee, ("author", "Author")),
                ("final", pair.final, event.attending, ("legal", "Legal Authenticator")))
        ],
    }
    if event.meta:
        provenance["meta"] = event.meta
    return {"fullUrl": _urn("prov", pair), "resource": provenance,
            "request": {"method": "PUT", "url": f"Provenance/{prov_id}"}}


def _source(config: FhirConfig, accession: str, which: str, report_id: int,
            who: dict[str, Any] | None, role: tuple[str, str]) -> dict[str, Any]:
    """A source report of the score, attributed to the person who wrote (the preliminary:
    the trainee, as author) or signed it (the final: the attending, as legal authenticator)."""
    entity: dict[str, Any] = {"role": "source", "what": {"identifier": {
        "system": f"{config.identifier_system}/report",
        "value": f"{identifier_value(accession)}-{which}-{report_id}"},
        "display": f"{which} report"}}
    if who is not None:
        entity["agent"] = [{"type": {"coding": [{"system": PROVENANCE_AGENT_TYPE,
                                                 "code": role[0], "display": role[1]}]},
                            "who": who}]
    return entity


def cancellation_of(bundle: dict[str, Any], accession: str, version: int,
                    now: datetime | None = None) -> dict[str, Any]:
    """The resources of a sent bundle, marked entered-in-error (the pair was cancelled by an
    X), with a Provenance of their own: the one cancellation path, the one Provenance rule."""
    out = copy.deepcopy(bundle)
    recorded = (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    for entry in out["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] in ("Observation", "DiagnosticReport", "DocumentReference"):
            resource["status"] = ENTERED_IN_ERROR
        elif resource["resourceType"] == "Provenance":
            resource["id"] = provenance_id(accession, version, CANCELLED)
            resource["activity"] = {"text": CANCELLED}
            resource["recorded"] = recorded.replace("+00:00", "Z")
            entry["request"] = {"method": "PUT", "url": f"Provenance/{resource['id']}"}
    return out


def modality_code(modality: str) -> dict[str, Any] | None:
    """The exam's modality as a DICOM modality code (None when unknown)."""
    if modality not in DICOM_MODALITY:
        return None
    code, shown = DICOM_MODALITY[modality]
    return {"coding": [{"system": DICOM_DCM, "code": code, "display": shown}], "text": shown}


def body_site(region: str) -> dict[str, Any] | None:
    """The exam's body region, coded with RadLex where RadLex has the structure."""
    if region in ("unknown", ""):
        return None
    text = region.replace("_", " ")
    site: dict[str, Any] = {"text": text}
    if region in REGION_RADLEX:
        site["coding"] = [{"system": SOURCE_SYSTEMS["radlex"], "code": REGION_RADLEX[region],
                           "display": text}]
    return site


def discrepant_findings(result: ScoreResult, limit: int = 20) -> list[dict[str, Any]]:
    """The findings the reports disagree on, coded in their sources (RadLex, OIFM, HPO), the
    RadLex anatomy beside them: a RIS can file the discrepancy without reading the text."""
    out = []
    for row in result.entities:
        if not row.counted or row.category == "matched":
            continue
        codings = []
        for code in row.codes:
            system, _, value = code.partition("|")
            if system in SOURCE_SYSTEMS and value:
                codings.append({"system": SOURCE_SYSTEMS[system], "code": value})
        if row.anatomy and row.anatomy.startswith("RID"):
            codings.append({"system": SOURCE_SYSTEMS["radlex"], "code": row.anatomy,
                            "display": row.anatomy_label or row.anatomy})
        entry: dict[str, Any] = {"text": f"{row.category}: {row.label}"}
        if codings:
            entry["coding"] = codings
        out.append(entry)
        if len(out) == limit:
            break
    return out


def conclusion(result: ScoreResult) -> str:
    return (f"Grade {result.grade} - {result.discrepancy} discrepancy; "
            f"agreement score {result.esas:.2f}")


def _int_component(code: str, value: int) -> dict[str, Any]:
    return {"code": coding(code), "valueInteger": int(value)}


def _document(event: _Event, report: ReportInfo, doc_status: str) -> dict[str, Any]:
    pair, config = event.pair, event.config
    ident = {"system": f"{config.identifier_system}/report",
             "value": f"{identifier_value(pair.accession)}-{doc_status}-{report.id}"}
    text = report.text.encode("utf-8")
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "identifier": [ident],
        "status": "current",
        "docStatus": doc_status,
        "subject": event.subject,
        "context": {"related": [event.based_on]},
        "content": [{"attachment": {
            "contentType": "text/plain; charset=utf-8",
            "data": base64.b64encode(text).decode("ascii"),
            "size": len(text),
        }}],
    }
    who = event.trainee if doc_status == "preliminary" else event.attending
    if who is not None:
        resource["author"] = [who]
        if doc_status == "final":
            resource["authenticator"] = who
    if event.meta:
        resource["meta"] = event.meta
    return {"fullUrl": f"urn:uuid:{uuid.uuid5(_NS, ident['value'])}", "resource": resource,
            "request": _put("DocumentReference", ident)}
