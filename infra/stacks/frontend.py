"""
AWS Amplify Hosting for a JavaScript storefront that uses the shop's JSON
API. Amplify cannot run Django; the shop's CloudFront sends /app/* here and
everything else (pages, /api/*) to the ALB, so both share one origin.
"""

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_amplify as amplify
from constructs import Construct

from infra.config import Config

BASE_PATH = "/app"


class FrontendStack(Stack):
    def __init__(self, scope: Construct, id: str, *, config: Config, **kwargs):
        super().__init__(scope, id, **kwargs)
        site = config.site_url
        self.app = amplify.CfnApp(
            self,
            "Storefront",
            name="northwind-storefront",
            description="JavaScript storefront over the shop's JSON API",
            platform="WEB",
            # Without a repository the app takes manual deploys
            # (`aws amplify create-deployment`, docs/deploy.md).
            repository=config.amplify_repository or None,
            environment_variables=[
                amplify.CfnApp.EnvironmentVariableProperty(
                    name="SHOP_API_URL", value=f"{site}/api/" if site else "/api/"
                ),
                amplify.CfnApp.EnvironmentVariableProperty(
                    name="SHOP_BASE_PATH", value=BASE_PATH
                ),
            ],
            custom_rules=[
                # A single-page app: unknown paths under /app load its shell.
                amplify.CfnApp.CustomRuleProperty(
                    source="</^[^.]+$|\\.(?!(css|gif|ico|jpg|jpeg|js|json|map|png|svg|txt|webp|woff|woff2)$)([^.]+$)/>",
                    target=f"{BASE_PATH}/index.html",
                    status="200",
                )
            ],
        )
        self.branch = amplify.CfnBranch(
            self,
            "Branch",
            app_id=self.app.attr_app_id,
            branch_name=config.amplify_branch,
            stage="PRODUCTION",
            enable_auto_build=bool(config.amplify_repository),
        )
        # Amplify serves a branch at <branch>.<app id>.amplifyapp.com.
        self.branch_domain = (
            f"{config.amplify_branch.replace('/', '-')}.{self.app.attr_default_domain}"
        )
        CfnOutput(self, "AmplifyAppId", value=self.app.attr_app_id)
        CfnOutput(self, "AmplifyBranchDomain", value=self.branch_domain)
