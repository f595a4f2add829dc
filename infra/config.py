"""
Deployment settings, read from CDK context (`cdk.json`, `-c key=value`) with
environment variables as the fallback. Nothing here is specific to one
account: the defaults are placeholders that let the app synthesise offline.
"""

import os
from dataclasses import dataclass

from aws_cdk import aws_logs as logs
from constructs import Node

# Placeholders for offline synthesis; a real deploy passes its own.
PLACEHOLDER_ACCOUNT = "111111111111"
PLACEHOLDER_REGION = "eu-west-2"


@dataclass(frozen=True)
class Config:
    account: str
    region: str
    # The shop's public name, e.g. shop.example.com. Empty: CloudFront's own.
    domain_name: str
    # ACM certificate for domain_name in us-east-1 (CloudFront's region).
    certificate_arn: str
    # ACM certificate for origin.<domain> in the stack's region (the ALB).
    alb_certificate_arn: str
    # "rds" (in the VPC, behind RDS Proxy) or "supabase" (DATABASE_URL secret).
    database: str
    db_instance_class: str
    db_multi_az: bool
    # "serverless" (ElastiCache Serverless) or "off".
    redis: str
    image_tag: str
    # Empty: looked up at deploy time by a custom resource.
    cloudfront_prefix_list_id: str
    nat_gateways: int
    web_cpu: int
    web_memory: int
    web_min_tasks: int
    web_max_tasks: int
    gunicorn_workers: int
    gunicorn_threads: int
    # ALBRequestCountPerTarget per minute at which another task starts.
    requests_per_task_minute: int
    log_retention_days: int
    clickstream_glacier_days: int
    athena_scan_limit_bytes: int
    archive_schedule_enabled: bool
    archive_schedule: str
    alarm_email: str
    auth_domain_prefix: str
    amplify_repository: str
    amplify_branch: str
    waf_rate_limit: int
    # Outgoing mail: Amazon SES over SMTP (STARTTLS); the SMTP credentials
    # are a secret the operator fills (docs/deploy.md, "Email").
    email_host: str
    email_port: int
    # DEFAULT_FROM_EMAIL: an address or domain verified in SES.
    email_from: str
    # ISO 4217 currency of every price (SHOP_CURRENCY).
    currency: str
    # Stripe card payments beside cash on delivery; the keys' secret half is
    # a secret the operator fills before turning this on.
    card_payments: bool
    # pk_live_... / pk_test_...: public, given to Stripe.js.
    stripe_publishable_key: str

    @property
    def rds(self) -> bool:
        return self.database == "rds"

    @property
    def site_url(self) -> str:
        return f"https://{self.domain_name}" if self.domain_name else ""

    @property
    def origin_https(self) -> bool:
        """CloudFront reaches the ALB over TLS when the ALB has a certificate."""
        return bool(self.alb_certificate_arn)


def _flag(value) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on", "enabled"}


def config_from(node: Node) -> Config:
    """The Config for an app, from its context, then the environment."""

    def get(key: str, env: str, default=""):
        value = node.try_get_context(key)
        if value is None:
            value = os.environ.get(env, default)
        return value

    database = str(get("database", "SHOP_DATABASE", "rds"))
    if database not in {"rds", "supabase"}:
        raise ValueError(f"context database must be rds or supabase, not {database!r}")
    redis = str(get("redis", "SHOP_REDIS", "serverless"))
    if redis not in {"serverless", "off"}:
        raise ValueError(f"context redis must be serverless or off, not {redis!r}")
    region = str(
        get("region", "CDK_DEFAULT_REGION", PLACEHOLDER_REGION) or PLACEHOLDER_REGION
    )
    domain_name = str(get("domainName", "SHOP_DOMAIN_NAME"))
    card_payments = _flag(get("cardPayments", "SHOP_CARD_PAYMENTS", "false"))
    publishable_key = str(
        get("stripePublishableKey", "SHOP_STRIPE_PUBLISHABLE_KEY")
    ).strip()
    # Context ends up in the templates in plain text: only the public key
    # may be given here, never the secret one.
    if publishable_key and not publishable_key.startswith("pk_"):
        raise ValueError("context stripePublishableKey must be a pk_... key")
    if card_payments and not publishable_key:
        raise ValueError("context cardPayments needs stripePublishableKey (pk_...)")
    return Config(
        account=str(
            get("account", "CDK_DEFAULT_ACCOUNT", PLACEHOLDER_ACCOUNT)
            or PLACEHOLDER_ACCOUNT
        ),
        region=region,
        domain_name=domain_name,
        certificate_arn=str(get("certificateArn", "SHOP_CERTIFICATE_ARN")),
        alb_certificate_arn=str(get("albCertificateArn", "SHOP_ALB_CERTIFICATE_ARN")),
        database=database,
        db_instance_class=str(get("dbInstanceClass", "SHOP_DB_CLASS", "t4g.medium")),
        db_multi_az=_flag(get("dbMultiAz", "SHOP_DB_MULTI_AZ", "true")),
        redis=redis,
        image_tag=str(get("imageTag", "SHOP_IMAGE_TAG", "latest")),
        cloudfront_prefix_list_id=str(
            get("cloudfrontPrefixListId", "SHOP_CLOUDFRONT_PREFIX_LIST_ID")
        ),
        nat_gateways=int(get("natGateways", "SHOP_NAT_GATEWAYS", 2)),
        web_cpu=int(get("webCpu", "SHOP_WEB_CPU", 1024)),
        web_memory=int(get("webMemory", "SHOP_WEB_MEMORY", 2048)),
        web_min_tasks=int(get("webMinTasks", "SHOP_WEB_MIN_TASKS", 2)),
        web_max_tasks=int(get("webMaxTasks", "SHOP_WEB_MAX_TASKS", 10)),
        gunicorn_workers=int(get("gunicornWorkers", "SHOP_GUNICORN_WORKERS", 2)),
        gunicorn_threads=int(get("gunicornThreads", "SHOP_GUNICORN_THREADS", 4)),
        requests_per_task_minute=int(
            get("requestsPerTaskMinute", "SHOP_REQUESTS_PER_TASK_MINUTE", 12000)
        ),
        log_retention_days=int(get("logRetentionDays", "SHOP_LOG_RETENTION_DAYS", 90)),
        clickstream_glacier_days=int(
            get("clickstreamGlacierDays", "SHOP_CLICKSTREAM_GLACIER_DAYS", 90)
        ),
        athena_scan_limit_bytes=int(
            get("athenaScanLimitBytes", "SHOP_ATHENA_SCAN_LIMIT", 10 * 1024**3)
        ),
        archive_schedule_enabled=_flag(
            get("archiveScheduleEnabled", "SHOP_ARCHIVE_SCHEDULE_ENABLED", "false")
        ),
        archive_schedule=str(
            get("archiveSchedule", "SHOP_ARCHIVE_SCHEDULE", "cron(30 2 * * ? *)")
        ),
        alarm_email=str(get("alarmEmail", "SHOP_ALARM_EMAIL")),
        auth_domain_prefix=str(
            get("authDomainPrefix", "SHOP_AUTH_DOMAIN_PREFIX", "northwind-shop")
        ),
        amplify_repository=str(get("amplifyRepository", "SHOP_AMPLIFY_REPOSITORY")),
        amplify_branch=str(get("amplifyBranch", "SHOP_AMPLIFY_BRANCH", "main")),
        waf_rate_limit=int(get("wafRateLimit", "SHOP_WAF_RATE_LIMIT", 2000)),
        email_host=str(
            get("emailHost", "SHOP_EMAIL_HOST") or f"email-smtp.{region}.amazonaws.com"
        ),
        email_port=int(get("emailPort", "SHOP_EMAIL_PORT", 587)),
        email_from=str(
            get("emailFrom", "SHOP_EMAIL_FROM")
            or (f"shop@{domain_name}" if domain_name else "")
        ),
        currency=str(get("currency", "SHOP_CURRENCY", "GBP")).upper(),
        card_payments=card_payments,
        stripe_publishable_key=publishable_key,
    )


_RETENTION = {
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
}


def retention(days: int) -> logs.RetentionDays:
    """CloudWatch Logs retention for a number of days it offers."""
    try:
        return _RETENTION[days]
    except KeyError:
        raise ValueError(
            f"logRetentionDays must be one of {sorted(_RETENTION)}, not {days}"
        ) from None
