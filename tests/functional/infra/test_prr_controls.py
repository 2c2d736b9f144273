"""The control matrix (prr/controls.yaml): it loads, covers every area, and every check, enforcement
path and framework id it names is real (docs/adr/0035-control-matrix-as-data.md)."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom import docgen
from strongroom.prr import controls
from strongroom.prr.controls import AREAS, CHECK_KINDS, FRAMEWORKS, REPO, Check, Control, ControlMatrixError


@pytest.fixture(scope="module")
def matrix() -> tuple[Control, ...]:
    return controls.load()


def test_the_matrix_has_at_least_60_controls_over_every_area(matrix: tuple[Control, ...]) -> None:
    assert len(matrix) >= 60
    assert {c.area for c in matrix} == set(AREAS)


def test_every_named_check_exists(matrix: tuple[Control, ...]) -> None:
    assert controls.missing_checks(matrix) == []


def test_every_enforcement_path_exists(matrix: tuple[Control, ...]) -> None:
    assert controls.missing_enforcement(matrix) == []


def test_every_mandatory_control_with_checks_has_an_automated_one(matrix: tuple[Control, ...]) -> None:
    # Tests are automated too; what must not happen is a mandatory control whose checks are all unnamed.
    assert [
        c.id for c in matrix if c.mandatory and c.checks and not any(map(controls.check_exists, c.checks))
    ] == []


def test_a_control_without_checks_says_what_is_missing_or_what_is_to_be_attested(
    matrix: tuple[Control, ...],
) -> None:
    assert [c.id for c in matrix if not c.checks and c.status_note is None and c.attestation is None] == []


def test_every_control_an_attestation_may_name_takes_one(matrix: tuple[Control, ...]) -> None:
    """prr/attestations.yaml parses against the matrix (this repository attests nothing itself)."""
    from strongroom.prr import attestations  # noqa: PLC0415

    needing = {c.id: c.attestation for c in matrix if c.attestation}
    assert needing, "the matrix names the controls only an organization can evidence"
    assert attestations.load(REPO / attestations.ATTESTATIONS, needing) == ()


def test_framework_ids_follow_each_frameworks_syntax(matrix: tuple[Control, ...]) -> None:
    bad = [
        (c.id, key, value)
        for c in matrix
        for key, values in c.frameworks.items()
        for value in values
        if not FRAMEWORKS[key][1].match(value)
    ]
    assert bad == []


@pytest.mark.parametrize(
    ("kind", "real", "fake"),
    [
        ("cdk_nag", "AwsSolutions-IAM5", "AwsSolutions-IAM55"),
        ("cdk_nag", "NIST.800.53.R5-LambdaInsideVPC", "NIST.800.53.R5-LambdaInsideVpc"),
        ("prr", "PRR-Lambda-NoInternetPath", "PRR-Lambda-NoInternetPaths"),
        ("checkov", "CKV_AWS_117", "CKV_AWS_99999"),
        ("cfn_lint", "W3005", "W3999"),
        (
            "test",
            "tests/functional/infra/test_prr_controls.py::test_every_named_check_exists",
            "tests/functional/infra/test_prr_controls.py::test_no_such_test",
        ),
    ],
)
def test_the_resolver_accepts_a_real_check_and_rejects_a_misspelt_one(
    kind: str, real: str, fake: str
) -> None:
    assert kind in CHECK_KINDS
    assert controls.check_exists(Check(kind, real))
    assert not controls.check_exists(Check(kind, fake))


def test_a_test_must_be_a_module_level_function_of_a_test_file() -> None:
    assert not controls.named_test_exists("tests/functional/no_such_file.py::test_x")
    assert not controls.named_test_exists("tests/functional/infra/test_prr_controls.py")
    assert not controls.named_test_exists("src/strongroom/prr/controls.py::load")
    assert not controls.named_test_exists("tests/functional/infra/test_prr_controls.py::matrix.__wrapped__")


def _control(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "IAM-99",
        "area": "identity",
        "requirement": "r",
        "rationale": "w",
        "service": "s",
        "enforcement": ["README.md"],
        "evidence": ["e"],
        "mandatory": True,
        "checks": [{"prr": "PRR-Lambda-Tracing"}],
        "frameworks": {"nist_800_53_r5": ["AC-6"]},
        **overrides,
    }


def test_a_valid_control_parses_into_typed_fields() -> None:
    (control,) = controls.parse({"controls": [_control()]})
    assert control.checks == (Check("prr", "PRR-Lambda-Tracing"),)
    assert control.frameworks == {"nist_800_53_r5": ("AC-6",)}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"area": "physics"}, "control IAM-99: field `area`: unknown area 'physics'"),
        ({"checks": [{"sonar": "x"}]}, "control IAM-99: field `checks`: unknown check kind 'sonar'"),
        ({"frameworks": {"cobit": ["x"]}}, "unknown framework 'cobit'"),
        ({"frameworks": {"iso_27001_2022": ["A.8.35"]}}, "'A.8.35' is not a ISO/IEC 27001:2022 Annex A id"),
        ({"frameworks": {"pci_dss_4_0_1": ["Req 7"]}}, "'Req 7' is not a PCI DSS v4.0.1 id"),
        ({"frameworks": {"soc2": ["CC10.1"]}}, "'CC10.1' is not a SOC 2"),
        ({"frameworks": {"well_architected": ["SEC3-BP2"]}}, "'SEC3-BP2' is not a AWS Well-Architected"),
        ({"mandatory": "yes"}, "field `mandatory` must be true or false"),
        ({"id": "iam-1"}, "field `id` must read like IAM-01"),
        ({"owner": "me"}, "unknown field `owner`"),
    ],
)
def test_a_malformed_control_is_refused_naming_the_control_and_field(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ControlMatrixError, match=message.replace("(", r"\(").replace(")", r"\)")):
        controls.parse({"controls": [_control(**overrides)]})


def test_a_missing_field_and_a_duplicate_id_are_each_reported() -> None:
    incomplete = _control()
    del incomplete["evidence"]
    with pytest.raises(ControlMatrixError) as raised:
        controls.parse({"controls": [_control(), _control(), {**incomplete, "id": "IAM-98"}]})
    assert "control IAM-99: duplicate id" in str(raised.value)
    assert "control IAM-98: missing field `evidence`" in str(raised.value)


def test_the_checklist_ticks_only_ready_controls(matrix: tuple[Control, ...]) -> None:
    checklist = controls.checklist_markdown(matrix)
    for c in matrix:
        ticked = f"- [x] {'**M** ' if c.mandatory else ''}{c.id}:" in checklist
        assert ticked == (bool(c.checks) and c.status_note is None and c.attestation is None)


@pytest.mark.parametrize("name", sorted(docgen.INFRA_GENERATED))
def test_the_generated_prr_docs_are_current(name: str) -> None:
    current = (docgen.DOCS / name).read_text()
    assert current == docgen.INFRA_GENERATED[name](current), (
        f"docs/{name} is stale: run `python -m strongroom.docgen`"
    )
