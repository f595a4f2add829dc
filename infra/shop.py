"""Every stack of the shop, wired together, for one App."""

from dataclasses import dataclass

from aws_cdk import App, Environment, Tags

from infra.config import Config, config_from
from infra.stacks.analytics import AnalyticsStack
from infra.stacks.auth import AuthStack
from infra.stacks.data import DataStack
from infra.stacks.edge import EdgeStack, WafStack
from infra.stacks.frontend import FrontendStack
from infra.stacks.jobs import JobsStack
from infra.stacks.network import NetworkStack
from infra.stacks.observability import ObservabilityStack
from infra.stacks.web import RegistryStack, WebStack

# CloudFront's web ACLs and certificates live in this region only.
CLOUDFRONT_REGION = "us-east-1"
# Behaviours this app relies on, whatever cdk.json says.
FEATURE_FLAGS = {
    # Server access logs are granted by bucket policy, not an ACL.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}


@dataclass
class Shop:
    config: Config
    network: NetworkStack
    data: DataStack
    auth: AuthStack
    registry: RegistryStack
    analytics: AnalyticsStack
    web: WebStack
    waf: WafStack
    frontend: FrontendStack
    edge: EdgeStack
    jobs: JobsStack
    observability: ObservabilityStack

    @property
    def stacks(self) -> list:
        return [
            self.network,
            self.data,
            self.auth,
            self.registry,
            self.analytics,
            self.web,
            self.waf,
            self.frontend,
            self.edge,
            self.jobs,
            self.observability,
        ]


def shop_build(app: App) -> Shop:
    """Add the shop's stacks to `app`, configured from its context."""
    for flag, value in FEATURE_FLAGS.items():
        if app.node.try_get_context(flag) is None:
            app.node.set_context(flag, value)
    config = config_from(app.node)
    env = Environment(account=config.account, region=config.region)
    network = NetworkStack(app, "ShopNetwork", config=config, env=env)
    data = DataStack(
        app,
        "ShopData",
        config=config,
        vpc=network.vpc,
        app_security_group=network.app_security_group,
        env=env,
    )
    auth = AuthStack(app, "ShopAuth", config=config, env=env)
    registry = RegistryStack(app, "ShopRegistry", env=env)
    analytics = AnalyticsStack(
        app,
        "ShopAnalytics",
        config=config,
        clickstream_bucket=data.clickstream,
        archive_bucket=data.archive,
        access_logs=data.access_logs,
        env=env,
    )
    web = WebStack(
        app,
        "ShopWeb",
        config=config,
        vpc=network.vpc,
        app_security_group=network.app_security_group,
        alb_security_group=network.alb_security_group,
        repository=registry.repository,
        data=data,
        auth=auth,
        analytics=analytics,
        env=env,
    )
    waf = WafStack(
        app,
        "ShopWaf",
        config=config,
        env=Environment(account=config.account, region=CLOUDFRONT_REGION),
        cross_region_references=True,
    )
    frontend = FrontendStack(app, "ShopFrontend", config=config, env=env)
    edge = EdgeStack(
        app,
        "ShopEdge",
        config=config,
        web=web,
        data=data,
        frontend=frontend,
        web_acl_arn=waf.web_acl.attr_arn,
        env=env,
        cross_region_references=True,
    )
    jobs = JobsStack(app, "ShopJobs", config=config, web=web, env=env)
    observability = ObservabilityStack(
        app,
        "ShopObservability",
        config=config,
        web=web,
        data=data,
        analytics=analytics,
        env=env,
    )
    shop = Shop(
        config,
        network,
        data,
        auth,
        registry,
        analytics,
        web,
        waf,
        frontend,
        edge,
        jobs,
        observability,
    )
    for stack in shop.stacks:
        # RDS Proxy's target group takes no tags.
        Tags.of(stack).add(
            "project",
            "northwind-shop",
            exclude_resource_types=["AWS::RDS::DBProxyTargetGroup"],
        )
    return shop
