"""
The CDK app, synthesised once per session: every stack's template and the
cdk-nag (AwsSolutions) report. Synthesis is offline: placeholder account,
no lookups, no Docker.
"""

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

# jsii warns on every start that Node 20 is past its end of life.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "111111111111"
REGION = "eu-west-2"
# What a production deploy passes (docs/deploy.md), with placeholder values.
PRODUCTION_CONTEXT = {
    "account": ACCOUNT,
    "region": REGION,
    "domainName": "shop.example.com",
    "certificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/cloudfront",
    "albCertificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/origin",
    "imageTag": "test",
    "alarmEmail": "ops@example.com",
}


@dataclass
class Synth:
    shop: object
    templates: dict
    violations: list

    def template(self, stack: str):
        return self.templates[stack]


def synthesise(context: dict, *, nag: bool) -> Synth:
    from aws_cdk import App, Validations
    from aws_cdk.assertions import Template
    from cdk_nag import AwsSolutionsChecks

    from infra.shop import shop_build

    outdir = tempfile.mkdtemp(prefix="cdk-test-")
    app = App(outdir=outdir, context=context)
    shop = shop_build(app)
    if nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    try:
        app.synth()
    except Exception as exc:  # the report below says what failed
        if "Validation" not in str(exc):
            raise
    report = Path(outdir) / "validation-report.json"
    violations = []
    if report.exists():
        for plugin in json.loads(report.read_text())["pluginReports"]:
            for violation in plugin["violations"]:
                for construct in violation["violatingConstructs"]:
                    violations.append(
                        (
                            violation["severity"],
                            violation["ruleName"],
                            construct["constructPath"],
                        )
                    )
    # Read back from the cloud assembly: Template.from_stack would
    # synthesise again (and rerun the plugins).
    templates = {
        stack.stack_name: Template.from_json(
            json.loads((Path(outdir) / stack.template_file).read_text())
        )
        for stack in shop.stacks
    }
    return Synth(shop=shop, templates=templates, violations=violations)


@pytest.fixture(scope="session")
def synth():
    """The production-shaped app (RDS, Redis, a domain), with cdk-nag."""
    return synthesise(PRODUCTION_CONTEXT, nag=True)


# The other choices, on the second synthesis: Supabase's DATABASE_URL,
# Redis off, no domain, card payments on.
OTHER_CONTEXT = {
    "account": ACCOUNT,
    "region": REGION,
    "database": "supabase",
    "redis": "off",
    "cardPayments": "true",
    "stripePublishableKey": "pk_test_placeholder",
    "emailFrom": "orders@example.org",
}


@pytest.fixture(scope="session")
def synth_supabase():
    """The other choices (OTHER_CONTEXT), with cdk-nag."""
    return synthesise(OTHER_CONTEXT, nag=True)
