#!/usr/bin/env python3
"""
The CDK app: `cd infra && cdk synth` (cdk.json runs this file). Synthesis
never calls AWS; account, region and the rest come from context
(`-c account=... -c region=...`) or the environment (docs/deploy.md).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    # The Glue tables and the Cognito password policy come from the
    # project's own code, which needs Django's settings and app registry.
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()

    from aws_cdk import App, Validations
    from cdk_nag import AwsSolutionsChecks

    from infra.shop import shop_build

    app = App()
    shop_build(app)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()


if __name__ == "__main__":
    main()
