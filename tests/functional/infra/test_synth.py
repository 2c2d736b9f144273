"""The synth entry point: every Region offline, the summary's figures computed from the templates."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from strongroom.config import load_config
from strongroom.infra import exceptions, pricing, synth
from strongroom.infra.synth import SynthResult

CONFIG = load_config(environ={})
EXPECTED_STACKS = {
    "strongroom-keys-eu-west-1": "eu-west-1",
    "strongroom-eu-west-1": "eu-west-1",
    "strongroom-keys-eu-central-1": "eu-central-1",
    "strongroom-eu-central-1": "eu-central-1",
    "strongroom-data-eu-west-1": "eu-west-1",
    "strongroom-backup-eu-west-1": "eu-west-1",
    "strongroom-backup-eu-central-1": "eu-central-1",
    "strongroom-artifacts-eu-west-1": "eu-west-1",  # signed bundles and their signer (docs/adr/0039)
    "strongroom-artifacts-eu-central-1": "eu-central-1",
    "strongroom-routing": "us-east-1",  # where Route 53's health-check metrics are (docs/adr/0027)
    "strongroom-compliance-eu-west-1": "eu-west-1",  # conformance pack, CI/CD boundary (docs/adr/0037)
    "strongroom-compliance-eu-central-1": "eu-central-1",
}


def _templates(result: SynthResult) -> dict[str, dict[str, Any]]:
    return {s.name: result.template(s.name) for s in result.stacks}


def test_every_region_gets_a_key_stack_and_a_platform_stack_and_the_primary_the_data_stack(
    synthesized: SynthResult,
) -> None:
    assert synthesized.error is None
    assert synthesized.ok
    assert {s.name: s.region for s in synthesized.stacks} == EXPECTED_STACKS


def _dependencies(manifest: dict[str, Any], stack: str) -> set[str]:
    return {d for d in manifest[stack].get("dependencies", []) if not d.endswith(".assets")}


def test_deploy_order_is_every_key_stack_then_the_data_stack_then_every_platform_stack(
    synthesized: SynthResult,
) -> None:
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())["artifacts"]
    # each Region's backup vault after its key; the data (tables, their backup plan) after every vault
    for region in ("eu-west-1", "eu-central-1"):
        assert _dependencies(manifest, f"strongroom-backup-{region}") == {f"strongroom-keys-{region}"}
    assert _dependencies(manifest, "strongroom-data-eu-west-1") == {
        "strongroom-keys-eu-west-1",
        "strongroom-keys-eu-central-1",
        "strongroom-backup-eu-west-1",
        "strongroom-backup-eu-central-1",
    }
    # a platform stack waits for the data, its own keys and its own artifacts (signer) only, never for
    # another Region's platform; the artifacts stack waits for its keys (docs/adr/0039)
    for region in ("eu-west-1", "eu-central-1"):
        assert _dependencies(manifest, f"strongroom-artifacts-{region}") == {f"strongroom-keys-{region}"}
        assert _dependencies(manifest, f"strongroom-{region}") == {
            "strongroom-data-eu-west-1",
            f"strongroom-keys-{region}",
            f"strongroom-artifacts-{region}",
        }
    # the routing stack reads every platform stack's outputs, so it comes after all of them
    assert _dependencies(manifest, "strongroom-routing") == {
        "strongroom-eu-west-1",
        "strongroom-eu-central-1",
    }
    for name, region in EXPECTED_STACKS.items():
        assert manifest[name]["environment"].endswith(f"/{region}")


def test_resource_counts_are_those_of_the_templates(synthesized: SynthResult) -> None:
    templates = _templates(synthesized)
    for stack in synthesized.stacks:
        assert stack.resources == len(templates[stack.name]["Resources"])
    per_region = synthesized.resources_per_region()
    assert sum(per_region.values()) == sum(len(t["Resources"]) for t in templates.values())
    assert set(per_region) == {"eu-west-1", "eu-central-1", "us-east-1"}


def test_network_cost_counts_interface_endpoints_times_their_subnets(synthesized: SynthResult) -> None:
    expected: dict[str, float] = {}
    for name, template in _templates(synthesized).items():
        region = EXPECTED_STACKS[name]
        pairs = sum(
            len(r["Properties"]["SubnetIds"])
            for r in template["Resources"].values()
            if r["Type"] == "AWS::EC2::VPCEndpoint" and r["Properties"]["VpcEndpointType"] == "Interface"
        )
        hourly = pricing.INTERFACE_ENDPOINT_USD_PER_AZ_HOUR[region]
        expected[region] = round(expected.get(region, 0.0) + pairs * hourly * 730, 2)
    assert synthesized.network_monthly_usd() == expected
    # Seven interface endpoints (CodeDeploy, Kinesis, KMS, Lambda, Secrets Manager, SQS, X-Ray) in each of
    # three AZs, per Region.
    regional = {s.name: s for s in synthesized.stacks}
    assert regional["strongroom-eu-west-1"].endpoint_subnets == 21
    assert expected["eu-west-1"] == round(21 * 0.011 * 730, 2)


def test_synth_cost_is_measured(synthesized: SynthResult) -> None:
    assert 0 < synthesized.seconds < 120
    assert synthesized.peak_memory_mib["python"] > 0
    assert synthesized.peak_memory_mib["node"] > 0, (
        "the jsii Node runtime is a live child and must be counted"
    )
    assert synthesized.peak_memory_mib["total"] >= synthesized.peak_memory_mib["node"]


def test_summary_prints_stacks_costs_compliance_and_synth_cost(synthesized: SynthResult) -> None:
    text = synth.render(synthesized)
    for name in EXPECTED_STACKS:
        assert name in text
    assert f"network fixed cost ${round(21 * 0.011 * 730, 2):,.2f}/month" in text
    assert "AwsSolutions    ran: 0 errors, 0 warnings" in text
    registry = synthesized.compliance["exceptions"]
    assert (
        f"Exceptions: {len(exceptions.load())} entries in policies/exceptions.json applied to "
        f"{sum(registry['applied'].values())} findings (cdk-nag {registry['applied']['cdk-nag']}, "
        f"checkov {registry['applied']['checkov']}, cfn-lint {registry['applied']['cfn-lint']}); "
        f"next review by {min(e.review_by for e in exceptions.load())}"
    ) in text
    assert f"Synth took {synthesized.seconds:.1f} s" in text


class FakeSynthesize:
    """Stands in for the (expensive) synthesis so main's printing and exit codes can be checked."""

    def __init__(self, result: SynthResult) -> None:
        self.result = result
        self.outdirs: list[str] = []

    def __call__(self, outdir: str) -> SynthResult:
        self.outdirs.append(outdir)
        return self.result


def test_main_prints_json_and_exits_zero_when_clean(
    synthesized: SynthResult, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeSynthesize(synthesized)
    monkeypatch.setattr(synth, "synthesize", fake)

    assert synth.main(["--outdir", "somewhere", "--json"]) == 0

    assert fake.outdirs == ["somewhere"]
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is True
    assert payload["networkMonthlyUsd"] == synthesized.network_monthly_usd()
    assert payload["compliance"]["Serverless"]["errors"] == 0
    assert payload["exceptions"]["entries"] == len(exceptions.load())
    assert payload["exceptions"]["applied"] == synthesized.compliance["exceptions"]["applied"]


def test_main_exits_nonzero_when_synthesis_failed(
    synthesized: SynthResult, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    failed = SynthResult(
        outdir=synthesized.outdir,
        stacks=synthesized.stacks,
        seconds=1.0,
        peak_memory_mib=synthesized.peak_memory_mib,
        compliance=synthesized.compliance,
        error="ValidationFailed: AwsSolutions-S1 on Bucket",
    )
    monkeypatch.setattr(synth, "synthesize", FakeSynthesize(failed))

    assert synth.main([]) == 1
    assert "Synthesis FAILED" in capsys.readouterr().out


def test_the_summary_states_the_rto_budget_of_the_configuration(synthesized: SynthResult) -> None:
    assert synthesized.rto is not None
    assert synthesized.rto.seconds == 60
    assert synthesized.rto.within_policy
    assert (
        "RTO budget, DNS callers: 60 s = 10 s x 2 checks + 5 s shared result + 30 s TTL + 5 s retry; "
        "policy 60 s: within the policy" in synth.render(synthesized)
    )


def test_a_budget_over_the_policy_fails_synthesis(
    synthesized: SynthResult, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN health checks whose detection plus a one-minute TTL cannot fail a Region over in 60 s
    slow = load_config(environ={"STRONGROOM_DNS_TTL_SECONDS": "60"})
    over = dataclasses.replace(synthesized, rto=synth.RtoBudget.of(slow))
    monkeypatch.setattr(synth, "synthesize", FakeSynthesize(over))
    # THEN synth says so and fails, naming what to change
    assert not over.ok
    assert synth.main([]) == 1
    out = capsys.readouterr().out
    assert "RTO budget, DNS callers: 90 s" in out
    assert "OVER the policy: synthesis fails" in out
    assert "STRONGROOM_DNS_TTL_SECONDS" in out


def test_main_reports_a_bad_configuration_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("STRONGROOM_CONSISTENCY", "sometimes")

    assert synth.main(["--outdir", str(tmp_path)]) == 2
    assert "STRONGROOM_CONSISTENCY" in capsys.readouterr().err
