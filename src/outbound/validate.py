"""Nothing leaves unchecked: fhir.resources (R4B) models plus the checks they do not make.

fhir.resources (and the Medplum server) accept any string as a `status` and any resource type
behind a reference (notes/fhir-mapping.md, "Pitfalls"), so the code bindings we use and the
reference target types are checked here against the R4 specification's lists.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from outbound.codes import CODE_SYSTEM, code_system

STATUS = {
    "Observation": {"registered", "preliminary", "final", "amended", "corrected", "cancelled",
                    "entered-in-error", "unknown"},
    "DiagnosticReport": {"registered", "partial", "preliminary", "final", "amended", "corrected",
                         "appended", "cancelled", "entered-in-error", "unknown"},
    "DocumentReference": {"current", "superseded", "entered-in-error"},
}
DOC_STATUS = {"preliminary", "final", "amended", "entered-in-error"}
# (resource type, element) -> resource types R4 allows behind the reference.
TARGETS = {
    ("Observation", "basedOn"): {"CarePlan", "DeviceRequest", "ImmunizationRecommendation",
                                 "MedicationRequest", "NutritionOrder", "ServiceRequest"},
    ("Observation", "derivedFrom"): {"DocumentReference", "ImagingStudy", "Media",
                                     "QuestionnaireResponse", "Observation",
                                     "MolecularSequence"},
    ("DiagnosticReport", "basedOn"): {"CarePlan", "ImmunizationRecommendation",
                                      "MedicationRequest", "NutritionOrder", "ServiceRequest"},
    ("DiagnosticReport", "result"): {"Observation"},
}
METHODS = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"}


class InvalidBundle(Exception):
    """A bundle that must not be sent; the message lists every problem found."""


def problems(bundle: dict[str, Any]) -> list[str]:
    """Every reason this bundle is not valid R4 as we use it; empty when it is."""
    found: list[str] = []
    try:
        Bundle.model_validate(bundle)
    except ValidationError as exc:
        found += [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
        found.append(f"Bundle.type is {bundle.get('type')!r}; we only send transactions")
    entries = bundle.get("entry") or []
    by_url = {e.get("fullUrl"): (e.get("resource") or {}).get("resourceType") for e in entries}
    ours = {c["code"] for c in code_system()["concept"]}
    for n, entry in enumerate(entries):
        resource = entry.get("resource") or {}
        kind = resource.get("resourceType", "?")
        where = f"entry[{n}] {kind}"
        method = (entry.get("request") or {}).get("method")
        if method not in METHODS:
            found.append(f"{where}: request.method {method!r} is not an HTTP verb FHIR allows")
        if method == "PUT" and "?" in entry["request"].get("url", "") and "id" in resource:
            found.append(f"{where}: a conditional PUT must not carry an id")
        if kind in STATUS and resource.get("status") not in STATUS[kind]:
            found.append(f"{where}: status {resource.get('status')!r} is not in the R4 value set")
        if kind == "DocumentReference" and resource.get("docStatus") not in DOC_STATUS:
            found.append(f"{where}: docStatus {resource.get('docStatus')!r} is not allowed")
        for ident in resource.get("identifier") or []:
            if "|" in str(ident.get("value", "")):
                found.append(f"{where}: identifier value {ident['value']!r} contains '|'")
        for (rtype, element), allowed in TARGETS.items():
            if rtype != kind:
                continue
            for ref in resource.get(element) or []:
                target = _target_type(ref, by_url)
                if target is not None and target not in allowed:
                    found.append(f"{where}: {element} may not reference {target}")
        for coding in _codings(resource):
            if coding.get("system") == CODE_SYSTEM and coding.get("code") not in ours:
                found.append(f"{where}: code {coding.get('code')!r} is not in {CODE_SYSTEM}")
    return found


def check(bundle: dict[str, Any]) -> None:
    issues = problems(bundle)
    if issues:
        raise InvalidBundle("; ".join(issues))


def _target_type(ref: dict[str, Any], by_url: dict[str | None, str | None]) -> str | None:
    if ref.get("type"):
        return str(ref["type"])
    reference = ref.get("reference")
    if not reference:
        return None
    if reference in by_url:
        return by_url[reference]
    return reference.split("/")[-2] if "/" in reference else None


def _codings(value: Any) -> list[dict[str, Any]]:
    """Every Coding anywhere inside a resource."""
    out: list[dict[str, Any]] = []
    if isinstance(value, dict):
        if "system" in value and "code" in value:
            out.append(value)
        for item in value.values():
            out += _codings(item)
    elif isinstance(value, list):
        for item in value:
            out += _codings(item)
    return out
