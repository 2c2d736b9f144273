"""`strongroom synth`: synthesize every Region offline, run the compliance packs, and summarise.

Writes the cloud assembly (default ``cdk.out/``) and prints, per stack, its Region and resource count,
the fixed monthly cost of the network (interface endpoints x their subnets at list price, counted from
the synthesized templates), the compliance result, and what the synth itself cost: wall time and peak
memory of this process, its finished children and the live jsii (Node) process.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from strongroom import constants as env
from strongroom.config import ConfigError, PlatformConfig, load_config
from strongroom.infra import packaging, pricing
from strongroom.infra.signed_bundle import SIGNED_BUNDLE_CONTEXT

INTERFACE = "Interface"


@dataclass(frozen=True, slots=True)
class StackSummary:
    name: str
    region: str
    resources: int
    interface_endpoints: int
    endpoint_subnets: int  # endpoint x AZ pairs: what interface endpoints are billed by
    network_monthly_usd: float
    template: str


@dataclass(frozen=True, slots=True)
class RtoBudget:
    """The worst-case time for DNS callers to reach the other Region, from the configuration's
    health-check values, against the resilience policy (docs/adr/0025)."""

    interval_seconds: int
    failure_threshold: int
    shared_result_seconds: int
    dns_ttl_seconds: int
    client_retry_seconds: int
    policy_seconds: int

    @classmethod
    def of(cls, config: PlatformConfig) -> RtoBudget:
        h = config.health_check
        return cls(
            h.interval_seconds,
            h.failure_threshold,
            h.deep_check_sharing_seconds,
            h.dns_ttl_seconds,
            h.client_retry_seconds,
            config.resilience.rto_seconds,
        )

    @property
    def seconds(self) -> int:
        detection = self.interval_seconds * self.failure_threshold + self.shared_result_seconds
        return detection + self.dns_ttl_seconds + self.client_retry_seconds

    @property
    def within_policy(self) -> bool:
        return self.seconds <= self.policy_seconds

    def line(self) -> str:
        verdict = "within the policy" if self.within_policy else "OVER the policy: synthesis fails"
        return (
            f"RTO budget, DNS callers: {self.seconds} s = {self.interval_seconds} s x "
            f"{self.failure_threshold} checks + {self.shared_result_seconds} s shared result + "
            f"{self.dns_ttl_seconds} s TTL + "
            f"{self.client_retry_seconds} s retry; policy {self.policy_seconds} s: {verdict} "
            f"(set {env.ENV_HEALTH_INTERVAL}, {env.ENV_HEALTH_FAILURE_THRESHOLD}, {env.ENV_DNS_TTL}, "
            f"{env.ENV_CLIENT_RETRY} or {env.ENV_RTO})"
        )


@dataclass(frozen=True, slots=True)
class SynthResult:
    outdir: Path
    stacks: list[StackSummary]
    seconds: float
    peak_memory_mib: dict[str, float]
    compliance: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    rto: RtoBudget | None = None

    @property
    def ok(self) -> bool:
        packs = self.compliance.get("packs", {})
        clean = all(p["ran"] and p["errors"] == 0 and p["warnings"] == 0 for p in packs.values())
        within_rto = self.rto is None or self.rto.within_policy
        return self.error is None and bool(packs) and clean and within_rto

    def resources_per_region(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for stack in self.stacks:
            totals[stack.region] = totals.get(stack.region, 0) + stack.resources
        return totals

    def network_monthly_usd(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for stack in self.stacks:
            totals[stack.region] = round(totals.get(stack.region, 0.0) + stack.network_monthly_usd, 2)
        return totals

    def unsigned_code(self) -> list[str]:
        """Stacks whose code-signed functions would deploy the local, unsigned asset (no signed bundle
        named by context): Lambda refuses that code under Enforce (docs/adr/0039)."""
        found = []
        for stack in self.stacks:
            resources = self.template(stack.name).get("Resources", {})
            if any(
                r["Type"] == "AWS::Lambda::Function"
                and "CodeSigningConfigArn" in r["Properties"]
                and not isinstance(r["Properties"].get("Code", {}).get("S3Bucket"), str)
                and "S3ObjectVersion" not in r["Properties"].get("Code", {})
                for r in resources.values()
            ):
                found.append(stack.name)
        return found

    def template(self, stack_name: str) -> dict[str, Any]:
        (stack,) = [s for s in self.stacks if s.name == stack_name]
        loaded: dict[str, Any] = json.loads((self.outdir / stack.template).read_text())
        return loaded


def summarise_template(name: str, region: str, template_file: Path) -> StackSummary:
    resources = json.loads(template_file.read_text()).get("Resources", {})
    interfaces = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::EC2::VPCEndpoint" and r["Properties"].get("VpcEndpointType") == INTERFACE
    ]
    subnets = sum(len(r["Properties"].get("SubnetIds", [])) for r in interfaces)
    return StackSummary(
        name=name,
        region=region,
        resources=len(resources),
        interface_endpoints=len(interfaces),
        endpoint_subnets=subnets,
        network_monthly_usd=pricing.interface_endpoint_monthly_usd(region, subnets) if subnets else 0.0,
        template=template_file.name,
    )


def _live_descendants_peak_kib() -> int:
    """Peak resident memory of our live descendants (jsii's Node runtime and its kernel), from /proc."""
    proc = Path("/proc")
    if not proc.is_dir():
        return 0
    parents: dict[str, str] = {}
    peaks: dict[str, int] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parents[entry.name] = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[entry.name] = int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    descendants: set[str] = set()
    frontier = {str(os.getpid())}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - descendants
        descendants |= frontier
    return sum(peaks.get(pid, 0) for pid in descendants)


def peak_memory_mib() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    finished = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    live = _live_descendants_peak_kib()
    return {
        "python": round(own / 1024, 1),
        "finished_children": round(finished / 1024, 1),
        "node": round(live / 1024, 1),
        "total": round((own + finished + live) / 1024, 1),
    }


def synthesize(outdir: Path | str = "cdk.out", config: PlatformConfig | None = None) -> SynthResult:
    """Build and synthesize the app for every configured Region, with every compliance pack."""
    from strongroom.infra.app import build_app  # noqa: PLC0415 - starts jsii; keep `--help` instant
    from strongroom.infra.compliance import register_packs, write_report  # noqa: PLC0415

    start = time.perf_counter()
    outdir = Path(outdir).resolve()
    config = config or load_config()
    app = build_app(config, outdir=str(outdir), compliance=False)
    gates = register_packs(app)
    error = None
    try:
        app.synth()
    except RuntimeError as exc:  # jsii raises the JavaScript error (e.g. ValidationFailed) as RuntimeError
        error = str(exc)
    compliance = write_report(app, outdir, gates)
    stacks = []
    for stack_name, region in _stacks(config):
        template = outdir / f"{stack_name}.template.json"
        if template.exists():
            stacks.append(summarise_template(stack_name, region, template))
    return SynthResult(
        outdir=outdir,
        stacks=stacks,
        seconds=round(time.perf_counter() - start, 1),
        peak_memory_mib=peak_memory_mib(),
        compliance=compliance,
        error=error,
        rto=RtoBudget.of(config),
    )


def _stacks(config: PlatformConfig) -> list[tuple[str, str]]:
    """Every stack with its Region, in deployment order (docs/adr/0010). The compliance stacks depend on
    nothing and nothing on them (docs/adr/0037): listed first, so the Config rules watch the others
    from their creation."""
    from strongroom.infra.app import (  # noqa: PLC0415
        artifacts_stack_name,
        backup_stack_name,
        compliance_stack_name,
        data_stack_name,
        key_stack_name,
        regional_stack_name,
        routing_stack_name,
    )
    from strongroom.infra.stacks.routing import ROUTING_REGION  # noqa: PLC0415

    return [
        *((compliance_stack_name(config, r.name), r.name) for r in config.regions),
        *((key_stack_name(config, r.name), r.name) for r in config.regions),
        *((backup_stack_name(config, r.name), r.name) for r in config.regions),
        *((artifacts_stack_name(config, r.name), r.name) for r in config.regions),
        (data_stack_name(config), config.primary_region.name),
        *((regional_stack_name(config, r.name), r.name) for r in config.regions),
        (routing_stack_name(config), ROUTING_REGION),
    ]


def alarm_routing(result: SynthResult) -> str:
    """Who each Region's alarms reach, read from the templates: email subscriptions and topics."""
    from strongroom.infra.constructs.observability import (  # noqa: PLC0415 - jsii is running by now
        UNROUTED_ACKNOWLEDGED,
        UNROUTED_PARAMETER,
    )

    reached: dict[str, list[str]] = {}
    nobody: list[str] = []
    for stack in result.stacks:
        template = result.template(stack.name)
        if UNROUTED_PARAMETER in template.get("Parameters", {}):
            nobody.append(stack.region)
            continue
        found = [
            f"email {r['Properties']['Endpoint']}"
            for r in template["Resources"].values()
            if r["Type"] == "AWS::SNS::Subscription" and r["Properties"].get("Protocol") == "email"
        ]
        found += sorted(
            {
                f"topic {action}"
                for r in template["Resources"].values()
                if r["Type"] == "AWS::CloudWatch::Alarm"
                for action in r["Properties"].get("AlarmActions", [])
                if isinstance(action, str)
            }
        )
        if found:
            reached[stack.region] = found
    if nobody:
        return (
            f"Alarms: reach NOBODY in {', '.join(nobody)} (set {env.ENV_ALARM_EMAIL} or "
            f"{env.ENV_ALARM_TOPIC_ARN}); deploying needs --parameters "
            f"{UNROUTED_PARAMETER}={UNROUTED_ACKNOWLEDGED}"
        )
    routes = "; ".join(f"{region} -> {', '.join(to)}" for region, to in reached.items())
    return f"Alarms: {routes or 'no alarms'}"


def render(result: SynthResult) -> str:
    lines = [f"Synthesized {len(result.stacks)} stacks into {result.outdir}"]
    width = max((len(s.name) for s in result.stacks), default=10)
    for stack in result.stacks:
        endpoints = (
            f"  {stack.interface_endpoints} interface endpoints x AZs = {stack.endpoint_subnets}"
            if stack.interface_endpoints
            else ""
        )
        lines.append(f"  {stack.name:<{width}}  {stack.region:<14} {stack.resources:>4} resources{endpoints}")
    per_region = result.resources_per_region()
    cost = result.network_monthly_usd()
    lines.append("Per Region:")
    for region, count in per_region.items():
        lines.append(
            f"  {region:<14} {count:>4} resources   network fixed cost ${cost.get(region, 0.0):,.2f}/month"
        )
    lines.append(
        f"Network fixed cost, all Regions: ${sum(cost.values()):,.2f}/month "
        f"(interface endpoints x AZs at list price as of {pricing.PRICES_AS_OF}, "
        f"{pricing.HOURS_PER_MONTH} h; data processing extra)"
    )
    packs = result.compliance.get("packs", {})
    if packs:
        lines.append("Compliance (cdk-nag):")
        for name, pack in packs.items():
            state = "ran" if pack["ran"] else "DID NOT RUN"
            lines.append(
                f"  {name:<15} {state}: {pack['errors']} errors, {pack['warnings']} warnings, "
                f"{pack['acknowledged']} acknowledged"
            )
        lines.append(f"  report: {result.outdir / 'compliance' / 'nag-report.json'}")
    registry = result.compliance.get("exceptions")
    if registry:
        applied = registry["applied"]
        lines.append(
            f"Exceptions: {registry['entries']} entries in {registry['registry']} applied to "
            f"{sum(applied.values())} findings ("
            + ", ".join(f"{tool} {count}" for tool, count in applied.items())
            + f"); next review by {registry['nextReview']}"
        )
    lines.append(alarm_routing(result))
    if result.rto is not None:
        lines.append(result.rto.line())
    compiler = packaging.bytecode_compiler()
    lines.append(
        f"Lambda bundle: bytecode compiled with {compiler}"
        if compiler
        else "Lambda bundle: sources only (no python3.13 here to compile Lambda's bytecode; set "
        f"{packaging.ENV_LAMBDA_PYTHON} or build where python3.13 exists: cold starts are ~2x faster)"
    )
    unsigned = result.unsigned_code()
    if unsigned:
        lines.append(
            f"Lambda code: the local, UNSIGNED bundle in {', '.join(unsigned)}; the functions enforce code "
            f"signing, so a deploy needs each Region's signed bundle: -c {SIGNED_BUNDLE_CONTEXT}:<region>="
            "s3://<artifacts bucket>/<key>@<version> (docs/adr/0039-signed-code-and-canary-releases.md)"
        )
    elif result.stacks:
        lines.append("Lambda code: the signed bundle named by context, in every platform stack")
    memory = result.peak_memory_mib
    lines.append(
        f"Synth took {result.seconds:.1f} s; peak memory {memory['total']:.0f} MiB "
        f"(Python {memory['python']:.0f} + Node {memory['node']:.0f} + finished children "
        f"{memory['finished_children']:.0f})"
    )
    if result.error:
        lines.append("Synthesis FAILED:")
        lines.extend(f"  {line}" for line in result.error.splitlines()[:40])
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="strongroom synth", description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", default="cdk.out", help="where to write the cloud assembly (cdk.out)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        result = synthesize(args.outdir)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.json:
        payload = {
            "ok": result.ok,
            "outdir": str(result.outdir),
            "seconds": result.seconds,
            "peakMemoryMiB": result.peak_memory_mib,
            "stacks": [asdict(s) for s in result.stacks],
            "resourcesPerRegion": result.resources_per_region(),
            "networkMonthlyUsd": result.network_monthly_usd(),
            "compliance": {
                k: {**v, "violations": len(v["violations"])} for k, v in result.compliance["packs"].items()
            },
            "exceptions": {
                k: v for k, v in result.compliance.get("exceptions", {}).items() if k != "applications"
            },
            "rtoBudget": {
                "seconds": result.rto.seconds,
                "policySeconds": result.rto.policy_seconds,
                "withinPolicy": result.rto.within_policy,
            }
            if result.rto
            else None,
            "error": result.error,
        }
        print(json.dumps(payload, indent=1))
    else:
        print(render(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
