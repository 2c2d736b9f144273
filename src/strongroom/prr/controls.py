"""The production-readiness control matrix, prr/controls.yaml, as typed data: its loader and
validation, and the resolver that proves every check a control names exists
(docs/adr/0035-control-matrix-as-data.md).

A control names its checks by kind: a cdk-nag rule id of one of the packs Strongroom runs, a PRR rule
id (``strongroom.prr.RULES``), a checkov or cfn-lint check id, or a test (``path::function``). The
resolver asks each tool what it really has, so a misspelt or invented check fails a test instead of
reading as coverage. Tooling only: nothing here ships to Lambda.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
MATRIX = REPO / "prr" / "controls.yaml"

# Area key -> title, in the order the documents list them.
AREAS: dict[str, str] = {
    "identity": "Identity and access",
    "code-integrity": "Code integrity",
    "secrets-and-keys": "Secrets and keys",
    "network": "Network",
    "api-protection": "API protection",
    "runtime-and-reliability": "Runtime and reliability",
    "event-sources": "Event sources",
    "data-protection": "Data protection",
    "observability": "Observability",
    "ci-cd": "CI/CD",
    "change-and-release": "Change and release",
    "resilience": "Resilience",
    "cost": "Cost",
}

CDK_NAG, PRR, CHECKOV, CFN_LINT, GATE, TEST = "cdk_nag", "prr", "checkov", "cfn_lint", "gate", "test"
CHECK_KINDS = (CDK_NAG, PRR, CHECKOV, CFN_LINT, GATE, TEST)

# The cdk-nag packs strongroom.infra.compliance.PACK_TYPES runs, by the JavaScript file that defines each.
NAG_PACK_FILES = ("aws-solutions", "nist-800-53-r5", "pci-dss-321", "hipaa-security", "serverless")


def _iso_annex_a() -> frozenset[str]:
    # ISO/IEC 27001:2022 Annex A: 37 organizational, 8 people, 14 physical, 34 technological controls.
    sizes = {5: 37, 6: 8, 7: 14, 8: 34}
    return frozenset(f"A.{theme}.{n}" for theme, count in sizes.items() for n in range(1, count + 1))


ISO_ANNEX_A = _iso_annex_a()

# Each framework's key and the syntax of its identifiers.
FRAMEWORKS: dict[str, tuple[str, re.Pattern[str]]] = {
    "nist_800_53_r5": (
        "NIST SP 800-53 r5",
        re.compile(r"^(AC|AT|AU|CA|CM|CP|IA|IR|MA|MP|PE|PL|PM|PS|PT|RA|SA|SC|SI|SR)-\d{1,2}(\(\d{1,2}\))?$"),
    ),
    "pci_dss_4_0_1": ("PCI DSS v4.0.1", re.compile(r"^(1[0-2]|[1-9])(\.\d{1,2}){1,3}$")),
    "iso_27001_2022": ("ISO/IEC 27001:2022 Annex A", re.compile(r"^A\.[5-8]\.\d{1,2}$")),
    "soc2": ("SOC 2 (TSC 2017)", re.compile(r"^(CC[1-9]\.\d|A1\.[1-3]|C1\.[12]|PI1\.[1-5])$")),
    "well_architected": (
        "AWS Well-Architected (security, reliability)",
        re.compile(r"^(SEC(0[1-9]|1[01])|REL(0[1-9]|1[0-3]))-BP\d{2}$"),
    ),
}

_ID = re.compile(r"^[A-Z]{2,5}-\d{2}$")
_REQUIRED = ("id", "area", "requirement", "rationale", "service", "enforcement", "evidence", "mandatory")
_OPTIONAL = ("checks", "frameworks", "status_note", "attestation")


class ControlMatrixError(ValueError):
    """The matrix is malformed; the message names every control and field at fault."""


@dataclass(frozen=True, slots=True)
class Check:
    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.id}"


@dataclass(frozen=True, slots=True)
class Control:
    id: str
    area: str
    requirement: str
    rationale: str
    service: str
    enforcement: tuple[str, ...]
    checks: tuple[Check, ...]
    evidence: tuple[str, ...]
    mandatory: bool
    frameworks: Mapping[str, tuple[str, ...]]
    status_note: str | None = None
    # What an organization must attest (prr/attestations.yaml) before the control passes: evidence no
    # tool can read from the repository, such as an independent penetration test.
    attestation: str | None = None


def load(path: Path = MATRIX) -> tuple[Control, ...]:
    """The matrix at ``path``, validated; raises ControlMatrixError listing every problem at once."""
    # Tooling only; PyYAML comes with cfn-lint in the infra extra (no stubs are installed).
    import yaml  # type: ignore[import-untyped]  # noqa: PLC0415

    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise ControlMatrixError(f"{path}: cannot read the control matrix: {error}") from error
    return parse(document, source=str(path))


def parse(document: Any, *, source: str = "controls") -> tuple[Control, ...]:
    raw = document.get("controls") if isinstance(document, dict) else None
    if not isinstance(raw, list):
        raise ControlMatrixError(f"{source}: expected a mapping with a `controls:` list")
    problems: list[str] = []
    controls: list[Control] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"{source}: control #{index + 1}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            where = f"{source}: control {entry['id']}"
            if entry["id"] in seen:
                problems.append(f"{where}: duplicate id")
            seen.add(entry["id"])
        errors: list[str] = []
        control = _control(entry, errors)
        problems.extend(f"{where}: {error}" for error in errors)
        if control is not None and not errors:
            controls.append(control)
    if problems:
        raise ControlMatrixError("\n".join(problems))
    return tuple(controls)


def _strings(value: Any, field: str, errors: list[str], *, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        errors.append(f"field `{field}` must be a list of non-empty strings")
        return ()
    if not value and not allow_empty:
        errors.append(f"field `{field}` must not be empty")
    return tuple(value)


def _control(entry: Any, errors: list[str]) -> Control | None:
    if not isinstance(entry, dict):
        errors.append("must be a mapping")
        return None
    errors.extend(f"missing field `{f}`" for f in _REQUIRED if f not in entry)
    errors.extend(f"unknown field `{f}`" for f in sorted(set(entry) - {*_REQUIRED, *_OPTIONAL}))
    if errors:
        return None
    for field in ("id", "area", "requirement", "rationale", "service"):
        if not isinstance(entry[field], str) or not entry[field].strip():
            errors.append(f"field `{field}` must be a non-empty string")
    if errors:
        return None
    if not _ID.match(entry["id"]):
        errors.append("field `id` must read like IAM-01 (capitals, a hyphen, two digits)")
    if entry["area"] not in AREAS:
        errors.append(f"field `area`: unknown area {entry['area']!r}; known: {', '.join(AREAS)}")
    if not isinstance(entry["mandatory"], bool):
        errors.append("field `mandatory` must be true or false")
    note = _optional_text(entry, "status_note", "must be a non-empty string when present", errors)
    attestation = _optional_text(
        entry, "attestation", "must say what is to be attested, when present", errors
    )
    return Control(
        id=entry["id"],
        area=entry["area"],
        requirement=entry["requirement"].strip(),
        rationale=entry["rationale"].strip(),
        service=entry["service"].strip(),
        enforcement=_strings(entry["enforcement"], "enforcement", errors),
        checks=_checks(entry.get("checks") or [], errors),
        evidence=_strings(entry["evidence"], "evidence", errors),
        mandatory=bool(entry["mandatory"]),
        frameworks=_frameworks(entry.get("frameworks") or {}, errors),
        status_note=note.strip() if isinstance(note, str) else None,
        attestation=attestation.strip() if isinstance(attestation, str) else None,
    )


def _optional_text(entry: dict[str, Any], field: str, rule: str, errors: list[str]) -> str | None:
    value = entry.get(field)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        errors.append(f"field `{field}` {rule}")
    return value if isinstance(value, str) else None


def _checks(raw: Any, errors: list[str]) -> tuple[Check, ...]:
    if not isinstance(raw, list):
        errors.append("field `checks` must be a list of {kind: id} mappings")
        return ()
    checks: list[Check] = []
    for item in raw:
        if not (isinstance(item, dict) and len(item) == 1):
            errors.append(f"field `checks`: {item!r} must be one {{kind: id}} mapping")
            continue
        ((kind, check_id),) = item.items()
        if kind not in CHECK_KINDS:
            errors.append(f"field `checks`: unknown check kind {kind!r}; known: {', '.join(CHECK_KINDS)}")
        elif not isinstance(check_id, str) or not check_id.strip():
            errors.append(f"field `checks`: the {kind} id must be a non-empty string")
        else:
            checks.append(Check(kind, check_id))
    return tuple(checks)


def _frameworks(raw: Any, errors: list[str]) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        errors.append("field `frameworks` must be a mapping of framework key to ids")
        return {}
    mapped: dict[str, tuple[str, ...]] = {}
    for key, ids in raw.items():
        if key not in FRAMEWORKS:
            errors.append(f"field `frameworks`: unknown framework {key!r}; known: {', '.join(FRAMEWORKS)}")
            continue
        values = _strings(ids, f"frameworks.{key}", errors, allow_empty=True)
        syntax = FRAMEWORKS[key][1]
        for value in values:
            if not syntax.match(value) or (key == "iso_27001_2022" and value not in ISO_ANNEX_A):
                errors.append(f"field `frameworks.{key}`: {value!r} is not a {FRAMEWORKS[key][0]} id")
        mapped[key] = values
    return mapped


# --- Resolving checks against what each tool really has -------------------------------------------


@functools.cache
def cdk_nag_rule_ids() -> frozenset[str]:
    """Every rule id the packs Strongroom runs can report, read from the installed cdk-nag's own pack
    sources (its jsii tarball) without starting Node: ``<packName>-<ruleSuffixOverride or rule name>``
    for each ``applyRule`` call, exactly as cdk-nag composes the ids it reports."""
    spec = importlib.util.find_spec("cdk_nag")
    if spec is None or spec.origin is None:
        raise RuntimeError("cdk-nag is not installed: install the `infra` extra")
    (tarball,) = (Path(spec.origin).parent / "_jsii").glob("*.tgz")
    ids: set[str] = set()
    with tarfile.open(tarball) as archive:
        for name in NAG_PACK_FILES:
            member = archive.extractfile(f"package/lib/packs/{name}.js")
            if member is None:
                raise RuntimeError(f"{tarball} has no pack {name}")
            ids |= _pack_rule_ids(member.read().decode())
    return frozenset(ids)


def _pack_rule_ids(source: str) -> set[str]:
    pack = re.search(r"this\.packName = '([^']+)'", source)
    if pack is None:
        raise RuntimeError("a cdk-nag pack without a packName: the pack format changed")
    ids = set()
    for block in source.split("this.applyRule({")[1:]:
        body = block.split("});", 1)[0]
        suffix = re.search(r"ruleSuffixOverride: '([^']+)'", body) or re.search(r"rule: [\w$]+\.(\w+),", body)
        if suffix:
            ids.add(f"{pack[1]}-{suffix[1]}")
    return ids


@functools.cache
def prr_rule_ids() -> frozenset[str]:
    from strongroom.prr.pack import RULES  # noqa: PLC0415 - CDK and cdk-nag start only when asked

    return frozenset(RULES)


def _run(command: Sequence[str]) -> str:
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)  # noqa: S603
    if completed.returncode != 0 or not completed.stdout:
        raise RuntimeError(f"`{' '.join(command)}` failed: {completed.stderr.strip()[-500:]}")
    return completed.stdout


@functools.cache
def checkov_check_ids() -> frozenset[str]:
    """checkov's CloudFormation checks, as its own ``--list`` prints them (checkov has its own venv)."""
    checkov = REPO / ".venv-checkov" / "bin" / "checkov"
    if not checkov.exists():
        raise RuntimeError(f"{checkov} is missing: run `make install` (it creates .venv-checkov)")
    listing = _run([str(checkov), "--list", "--framework", "cloudformation"])
    return frozenset(re.findall(r"\|\s*(CKV2?_AWS_\d+)\s*\|", listing))


@functools.cache
def cfn_lint_rule_ids() -> frozenset[str]:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"  # installed with the `infra` extra
    return frozenset(re.findall(r"^([EWI]\d{4}):", _run([str(cfn_lint), "--list-rules"]), re.MULTILINE))


def named_test_exists(reference: str, repo: Path = REPO) -> bool:
    """Whether ``path::function`` names a module-level test function (read with ``ast``, never imported)."""
    path, _, function = reference.partition("::")
    file = repo / path
    if not (function and path.startswith("tests/") and file.is_file()):
        return False
    tree = ast.parse(file.read_text(), filename=str(file))
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function
        for node in tree.body
    )


def gate_rule_ids() -> frozenset[str]:
    from strongroom.prr.gates import GATE_RULES  # noqa: PLC0415

    return frozenset(GATE_RULES)


_KNOWN: dict[str, Callable[[], frozenset[str]]] = {
    CDK_NAG: cdk_nag_rule_ids,
    PRR: prr_rule_ids,
    GATE: gate_rule_ids,
    CHECKOV: checkov_check_ids,
    CFN_LINT: cfn_lint_rule_ids,
}


def check_exists(check: Check) -> bool:
    if check.kind == TEST:
        return named_test_exists(check.id)
    return check.id in _KNOWN[check.kind]()


def missing_checks(controls: Iterable[Control]) -> list[str]:
    """'<control>: <kind>: <id>' for every named check its tool does not have."""
    return [f"{c.id}: {check}" for c in controls for check in c.checks if not check_exists(check)]


def missing_enforcement(controls: Iterable[Control], repo: Path = REPO) -> list[str]:
    """'<control>: <path>' for every enforcement path not in the repository (``path::name`` allowed)."""
    return [
        f"{c.id}: {path}"
        for c in controls
        for path in c.enforcement
        if not (repo / path.partition("::")[0]).exists()
    ]


def is_ready(control: Control) -> bool:
    """Checked in the readiness checklist: automated checks that exist, and nothing left to do (an
    attestation is left to the organization, so a control that needs one is not ticked here)."""
    return (
        bool(control.checks)
        and control.status_note is None
        and control.attestation is None
        and all(map(check_exists, control.checks))
    )


# --- Generated documents (docs/prr.md, docs/readiness-checklist.md) -------------------------------

_HEADER = (
    "<!-- generated by `python -m strongroom.docgen` from prr/controls.yaml -->\n\n"
    "Every check runs in `strongroom synth`, `make test` or `strongroom check`, which judges each\n"
    "control from them and from prr/attestations.yaml (docs/adr/0035-control-matrix-as-data.md,\n"
    "docs/adr/0038-strongroom-check.md).\n"
)


def _code(values: Iterable[str]) -> str:
    return ", ".join(f"`{v}`" for v in values) or "—"


def prr_markdown(controls: Sequence[Control]) -> str:
    """The PRR document: per area, each control with everything the matrix says about it."""
    parts = ["# Production-readiness review\n\n", _HEADER]
    for area, title in AREAS.items():
        parts.append(f"\n## {title}\n")
        for c in (c for c in controls if c.area == area):
            parts.append(
                f"\n### {c.id}{' (mandatory)' if c.mandatory else ''}\n\n{c.requirement}\n\n"
                f"- **Why:** {c.rationale}\n- **Service:** {c.service}\n"
                f"- **Enforced by:** {_code(c.enforcement)}\n"
                f"- **Checks:** {_code(str(k) for k in c.checks)}\n"
                f"- **Evidence:** {'; '.join(c.evidence)}\n"
            )
            for key, (name, _) in FRAMEWORKS.items():
                if c.frameworks.get(key):
                    parts.append(f"- **{name}:** {', '.join(c.frameworks[key])}\n")
            if c.attestation:
                parts.append(f"- **Attestation:** {c.attestation}\n")
            if c.status_note:
                parts.append(f"- **Status:** {c.status_note}\n")
    return "".join(parts)


def checklist_markdown(controls: Sequence[Control]) -> str:
    """One line per control, ticked when it has automated checks that exist and nothing left to do;
    then each framework's coverage."""
    ready = {c.id: is_ready(c) for c in controls}
    mandatory_open = sum(1 for c in controls if c.mandatory and not ready[c.id])
    lines = [
        "# Production-readiness checklist\n\n",
        _HEADER,
        f"\n{sum(ready.values())} of {len(controls)} controls ready; "
        f"{mandatory_open} mandatory controls open. **M** marks a mandatory control.\n",
    ]
    for area, title in AREAS.items():
        lines.append(f"\n## {title}\n\n")
        for c in (c for c in controls if c.area == area):
            mark = "x" if ready[c.id] else " "
            note = f" — *{c.status_note}*" if c.status_note else ""
            note += f" — *attested by the organization: {c.attestation}*" if c.attestation else ""
            lines.append(f"- [{mark}] {'**M** ' if c.mandatory else ''}{c.id}: {c.requirement}{note}\n")
    lines.append(
        "\n## Coverage per framework\n\n"
        "| framework | controls mapped | of which ready | distinct ids | ids of ready controls |\n"
        "|---|---|---|---|---|\n"
    )
    for key, (name, _) in FRAMEWORKS.items():
        mapped = [c for c in controls if c.frameworks.get(key)]
        ids = {i for c in mapped for i in c.frameworks[key]}
        ready_ids = {i for c in mapped if ready[c.id] for i in c.frameworks[key]}
        ready_count = sum(ready[c.id] for c in mapped)
        lines.append(f"| {name} | {len(mapped)} | {ready_count} | {len(ids)} | {len(ready_ids)} |\n")
    return "".join(lines)
