"""
What the shop keeps: PostgreSQL (RDS behind RDS Proxy, or Supabase through a
DATABASE_URL secret), Redis (ElastiCache Serverless, or off), the buckets and
the app's secrets.
"""

import json

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticache as elasticache
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.config import Config
from infra.nag import acknowledge

DATABASE_NAME = "shop"
CLICKSTREAM_PREFIX = "clickstream"
ARCHIVE_PREFIX = "archive"


def bucket_name(config: Config, purpose: str) -> str:
    """
    A bucket's name, known before deploy: the docs' commands can name it and
    other stacks can write IAM policies for it without cross-stack exports.
    """
    return f"northwind-shop-{purpose}-{config.account}-{config.region}"


def bucket_arn(config: Config, purpose: str) -> str:
    return f"arn:aws:s3:::{bucket_name(config, purpose)}"


class DataStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        vpc: ec2.IVpc,
        app_security_group: ec2.ISecurityGroup,
        **kwargs,
    ):
        super().__init__(scope, id, **kwargs)
        self.config = config
        self._secrets(config)
        self._buckets(config)
        self.database = None
        self.proxy = None
        self.database_url_secret = None
        if config.rds:
            self._rds(config, vpc, app_security_group)
        else:
            self.database_url_secret = secretsmanager.Secret(
                self,
                "DatabaseUrl",
                description=(
                    "Supabase pooler URL with ?sslmode=require; set it with "
                    "aws secretsmanager put-secret-value (docs/deploy.md)"
                ),
            )
            CfnOutput(
                self,
                "DatabaseUrlSecretArn",
                value=self.database_url_secret.secret_arn,
            )
            acknowledge(
                self.database_url_secret,
                "AwsSolutions-SMG4",
                "Supabase issues this URL; it is rotated in Supabase and pasted "
                "in by hand, so no Lambda can rotate it here.",
            )
        self.redis = None
        if config.redis == "serverless":
            self._redis(vpc, app_security_group)

    # -- secrets -------------------------------------------------------------

    def _secrets(self, config: Config) -> None:
        self.django_secret_key = secretsmanager.Secret(
            self,
            "DjangoSecretKey",
            description="DJANGO_SECRET_KEY",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_characters="\"'\\$`"
            ),
        )
        # CloudFront sends it in X-Origin-Verify; the ALB and the app
        # (DJANGO_ORIGIN_SECRET) refuse requests without it.
        self.origin_secret = secretsmanager.Secret(
            self,
            "OriginSecret",
            description="X-Origin-Verify header value (DJANGO_ORIGIN_SECRET)",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
        )
        for secret in (self.django_secret_key, self.origin_secret):
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                "Rotated by a redeploy with a new value (docs/deploy.md); a "
                "rotation Lambda would have to restart every task and "
                "CloudFront together, which the deploy already does.",
            )
        # Filled by the operator (docs/deploy.md, "Email" and "Card
        # payments"). Each starts as JSON with every key the tasks read, so
        # tasks start before it is filled (a missing key would stop them);
        # until then each email fails and is retried. Never change these
        # definitions: a new template regenerates the value.
        self.email_secret = self._operator_secret(
            "EmailSmtp",
            description=(
                "SES SMTP credentials, JSON {username, password} "
                "(EMAIL_HOST_USER, EMAIL_HOST_PASSWORD); set with "
                "aws secretsmanager put-secret-value (docs/deploy.md)"
            ),
            keys=("username", "password"),
            output="EmailSecretArn",
            reason="SES SMTP credentials are derived from an IAM user's key "
            "and created in the SES console; they are rotated there and "
            "pasted in by hand (docs/deploy.md).",
        )
        # Kept even while cardPayments is off, so it can be filled first.
        self.stripe_secret = self._operator_secret(
            "Stripe",
            description=(
                "Stripe keys, JSON {secret_key, webhook_secret} "
                "(STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET); set with "
                "aws secretsmanager put-secret-value (docs/deploy.md)"
            ),
            keys=("secret_key", "webhook_secret"),
            output="StripeSecretArn",
            reason="Stripe issues the API key and the webhook signing secret; "
            "they are rolled in Stripe's dashboard and pasted in by hand, "
            "so no Lambda can rotate them here.",
        )

    def _operator_secret(
        self,
        id: str,
        *,
        description: str,
        keys: tuple[str, str],
        output: str,
        reason: str,
    ) -> secretsmanager.Secret:
        """A JSON secret with `keys`, placeholders until the operator sets it."""
        first, generated = keys
        secret = secretsmanager.Secret(
            self,
            id,
            description=description,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({first: "unset"}),
                generate_string_key=generated,
                exclude_punctuation=True,
            ),
        )
        CfnOutput(self, output, value=secret.secret_arn)
        acknowledge(secret, "AwsSolutions-SMG4", reason)
        return secret

    # -- buckets -------------------------------------------------------------

    def _bucket(self, id: str, *, versioned: bool = True, **kwargs) -> s3.Bucket:
        return s3.Bucket(
            self,
            id,
            bucket_name=bucket_name(self.config, id.lower()),
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=versioned,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix=f"s3/{id.lower()}/",
            removal_policy=RemovalPolicy.RETAIN,
            **kwargs,
        )

    def _buckets(self, config: Config) -> None:
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            bucket_name=bucket_name(config, "logs"),
            # ALB access logs accept only SSE-S3.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.access_logs,
            "AwsSolutions-S1",
            "This is the access-log bucket itself; logging it into itself would loop.",
        )
        expire_uploads = s3.LifecycleRule(
            abort_incomplete_multipart_upload_after=Duration.days(7)
        )
        self.media = self._bucket(
            "Media",
            lifecycle_rules=[
                expire_uploads,
                s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30)),
            ],
        )
        self.static = self._bucket(
            "Static",
            versioned=False,
            lifecycle_rules=[expire_uploads],
        )
        self.archive = self._bucket(
            "Archive",
            lifecycle_rules=[
                expire_uploads,
                # The archive rewrites a day's file when it changed; the old
                # one stays restorable for 90 days.
                s3.LifecycleRule(noncurrent_version_expiration=Duration.days(90)),
            ],
        )
        self.clickstream = self._bucket(
            "Clickstream",
            versioned=False,
            lifecycle_rules=[
                expire_uploads,
                # Glacier Instant Retrieval: cheap, and Athena can still read
                # it (it cannot read Flexible Retrieval or Deep Archive).
                s3.LifecycleRule(
                    prefix=f"{CLICKSTREAM_PREFIX}/",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(
                                config.clickstream_glacier_days
                            ),
                        )
                    ],
                ),
            ],
        )
        # CloudFront reads /static/* and /media/* through origin access
        # control. The distribution is in the edge stack, which depends on
        # this one, so the grant names the account's distributions rather
        # than one ARN (that would make the two stacks refer to each other).
        for bucket in (self.media, self.static):
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    actions=["s3:GetObject"],
                    resources=[bucket.arn_for_objects("*")],
                    principals=[iam.ServicePrincipal("cloudfront.amazonaws.com")],
                    conditions={
                        "StringLike": {
                            "AWS:SourceArn": (
                                f"arn:aws:cloudfront::{self.account}:distribution/*"
                            )
                        }
                    },
                )
            )

    # -- PostgreSQL on RDS ---------------------------------------------------

    def _rds(
        self, config: Config, vpc: ec2.IVpc, app_security_group: ec2.ISecurityGroup
    ) -> None:
        self.database = rds.DatabaseInstance(
            self,
            "Postgres",
            engine=rds.DatabaseInstanceEngine.postgres(
                version=rds.PostgresEngineVersion.VER_17
            ),
            instance_type=ec2.InstanceType(config.db_instance_class),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
            ),
            credentials=rds.Credentials.from_generated_secret("shop"),
            database_name=DATABASE_NAME,
            multi_az=config.db_multi_az,
            allocated_storage=50,
            max_allocated_storage=500,
            storage_type=rds.StorageType.GP3,
            storage_encrypted=True,
            backup_retention=Duration.days(14),
            deletion_protection=True,
            delete_automated_backups=False,
            removal_policy=RemovalPolicy.SNAPSHOT,
            enable_performance_insights=True,
            monitoring_interval=Duration.seconds(60),
            cloudwatch_logs_exports=["postgresql", "upgrade"],
            iam_authentication=True,
            auto_minor_version_upgrade=True,
        )
        self.database.add_rotation_single_user(automatically_after=Duration.days(30))
        # Many gunicorn threads and job tasks share a small pool of database
        # connections; RDS Proxy also hides a Multi-AZ failover's DNS change.
        self.proxy = self.database.add_proxy(
            "Proxy",
            secrets=[self.database.secret],
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
            ),
            require_tls=True,
            max_connections_percent=90,
            idle_client_timeout=Duration.minutes(30),
        )
        self.proxy.connections.allow_from(
            app_security_group, ec2.Port.tcp(5432), "Shop tasks to RDS Proxy"
        )
        self.database.connections.allow_default_port_from(
            self.proxy, "RDS Proxy to PostgreSQL"
        )
        acknowledge(
            self.database,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            "service-role/AmazonRDSEnhancedMonitoringRole]",
            "Enhanced Monitoring's role must carry this AWS managed policy; "
            "it only publishes OS metrics to CloudWatch Logs.",
        )
        acknowledge(
            self.database,
            "AwsSolutions-RDS11",
            "The default port 5432 is reachable only from RDS Proxy's "
            "security group in isolated subnets; another port hides nothing.",
        )

    # -- Redis ---------------------------------------------------------------

    def _redis(self, vpc: ec2.IVpc, app_security_group: ec2.ISecurityGroup) -> None:
        self.redis_security_group = ec2.SecurityGroup(
            self,
            "RedisSecurityGroup",
            vpc=vpc,
            description="ElastiCache Serverless, from the shop tasks only",
            allow_all_outbound=False,
        )
        self.redis_security_group.add_ingress_rule(
            app_security_group,
            ec2.Port.tcp_range(6379, 6380),
            "Shop tasks to Redis (primary and reader endpoints)",
        )
        self.redis = elasticache.CfnServerlessCache(
            self,
            "Redis",
            serverless_cache_name=f"{self.stack_name.lower()}-cache",
            engine="valkey",
            major_engine_version="8",
            description="Cache, catalogue version and rate limits",
            security_group_ids=[self.redis_security_group.security_group_id],
            subnet_ids=vpc.select_subnets(
                subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
            ).subnet_ids,
            daily_snapshot_time="03:00",
            snapshot_retention_limit=1,
        )

    @property
    def redis_url(self) -> str:
        """REDIS_URL for the app: TLS is always on for a serverless cache."""
        if self.redis is None:
            return ""
        return (
            f"rediss://{self.redis.attr_endpoint_address}:"
            f"{self.redis.attr_endpoint_port}/0"
        )
