"""Attestations: the evidence an organization gives for controls no tool can judge from the
repository (an independent penetration test, the organization's trail, a game day on a real account,
a repository setting), as data in prr/attestations.yaml (docs/adr/0038-strongroom-check.md).

Each entry names its control, the evidence (a document or record an auditor can open), who attests it,
when, and until when: at most twelve months later. ``strongroom check`` passes a control that needs an
attestation only with a current one; an expired one is a finding, and a control with none waits.
Data only: no CDK, no tools.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from strongroom.errors import UserError

ATTESTATIONS = Path("prr") / "attestations.yaml"
MAX_VALIDITY = timedelta(days=366)  # an attestation is renewed at least every twelve months
_FIELDS = ("control", "evidence", "attested_by", "attested_on", "valid_until")
VALID, EXPIRED = "valid", "expired"


class AttestationError(UserError):
    """The attestations file is malformed; the message names every entry and field at fault."""


@dataclass(frozen=True, slots=True)
class Attestation:
    control: str
    evidence: str
    attested_by: str
    attested_on: date
    valid_until: date

    def state(self, today: date) -> str:
        return VALID if self.attested_on <= today <= self.valid_until else EXPIRED


def load(path: Path, needing: Mapping[str, str]) -> tuple[Attestation, ...]:
    """The attestations in ``path`` (none if it does not exist), checked against ``needing``: the
    controls that take an attestation, by id, with what is to be attested."""
    import yaml  # type: ignore[import-untyped]  # noqa: PLC0415 - tooling only (the infra extra's PyYAML)

    if not path.is_file():
        return ()
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise AttestationError(f"{path}: not YAML: {error}") from None
    return parse(document, needing, source=str(path))


def parse(
    document: Any, needing: Mapping[str, str], *, source: str = "attestations"
) -> tuple[Attestation, ...]:
    entries = document.get("attestations") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise AttestationError(f"{source}: expected a mapping with a list `attestations`")
    found, problems = [], []
    for n, entry in enumerate(entries, start=1):
        where = f"{source}: attestation {n}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a mapping with {', '.join(_FIELDS)}")
            continue
        wrong = [f"missing `{f}`" for f in _FIELDS if f not in entry]
        wrong += [f"unknown field `{f}`" for f in sorted(set(entry) - set(_FIELDS))]
        if not wrong:
            wrong += _entry_problems(entry, needing)
        if wrong:
            problems.append(f"{where} ({entry.get('control', '?')}): {'; '.join(wrong)}")
            continue
        found.append(
            Attestation(
                control=entry["control"],
                evidence=str(entry["evidence"]).strip(),
                attested_by=str(entry["attested_by"]).strip(),
                attested_on=_date(entry["attested_on"]),
                valid_until=_date(entry["valid_until"]),
            )
        )
    if problems:
        raise AttestationError("\n".join(problems))
    return tuple(found)


def _entry_problems(entry: Mapping[str, Any], needing: Mapping[str, str]) -> list[str]:
    problems = []
    if entry["control"] not in needing:
        takers = ", ".join(sorted(needing))
        problems.append(f"`control`: {entry['control']!r} takes no attestation (those that do: {takers})")
    for field in ("evidence", "attested_by"):
        if not isinstance(entry[field], str) or not entry[field].strip():
            problems.append(f"`{field}` must say what and who (a non-empty string)")
    try:
        on, until = _date(entry["attested_on"]), _date(entry["valid_until"])
    except ValueError:
        return [*problems, "`attested_on` and `valid_until` must be dates (YYYY-MM-DD)"]
    if until < on:
        problems.append("`valid_until` is before `attested_on`")
    elif until - on > MAX_VALIDITY:
        problems.append("`valid_until` is more than twelve months after `attested_on`: attest again instead")
    return problems


def _date(value: Any) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def states(attestations: Iterable[Attestation], today: date) -> dict[str, tuple[str, Attestation]]:
    """Each attested control's state: valid if any of its attestations is current, else expired."""
    out: dict[str, tuple[str, Attestation]] = {}
    for attestation in attestations:
        state = attestation.state(today)
        if out.get(attestation.control, (EXPIRED,))[0] != VALID:
            out[attestation.control] = (state, attestation)
    return out
