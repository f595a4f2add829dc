"""
The shop on ECS Fargate behind an ALB that answers only CloudFront: the
origin-facing prefix list at the network edge and the X-Origin-Verify
secret at the listener (and again in the app, DJANGO_ORIGIN_SECRET).
"""

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.config import Config, retention
from infra.nag import acknowledge
from infra.stacks.analytics import AnalyticsStack
from infra.stacks.auth import AuthStack
from infra.stacks.data import (
    CLICKSTREAM_PREFIX,
    DATABASE_NAME,
    DataStack,
    bucket_arn,
)
from infra.stacks.network import APP_PORT

ORIGIN_HEADER = "X-Origin-Verify"
LIVENESS_PATH = "/healthz/live"
READINESS_PATH = "/healthz"
CONTAINER_PORT = APP_PORT
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
# SHOP_PAYMENT_PROVIDERS' dotted paths (shop/payments.py,
# shop/stripe_gateway.py).
CASH_PROVIDER = "shop.payments.CashOnDelivery"
STRIPE_PROVIDER = "shop.stripe_gateway.StripeProvider"
# The same probe as the Dockerfile's HEALTHCHECK (Fargate ignores that one).
LIVENESS_PROBE = (
    'python -c "import urllib.request; urllib.request.urlopen('
    f"'http://127.0.0.1:{CONTAINER_PORT}{LIVENESS_PATH}', timeout=3)\""
)


class RegistryStack(Stack):
    """The image repository: deployed first, so an image can be pushed."""

    def __init__(self, scope: Construct, id: str, **kwargs):
        super().__init__(scope, id, **kwargs)
        self.repository = ecr.Repository(
            self,
            "Repository",
            repository_name="northwind-shop",
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.AES_256,
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description="Keep the last 50 images (rollback window)",
                    max_image_count=50,
                )
            ],
        )
        CfnOutput(self, "RepositoryUri", value=self.repository.repository_uri)


class WebStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        vpc: ec2.IVpc,
        app_security_group: ec2.ISecurityGroup,
        alb_security_group: ec2.ISecurityGroup,
        repository: ecr.IRepository,
        data: DataStack,
        auth: AuthStack,
        analytics: AnalyticsStack,
        **kwargs,
    ):
        super().__init__(scope, id, **kwargs)
        self.config = config
        self.vpc = vpc
        self.app_security_group = app_security_group
        self.alb_security_group = alb_security_group
        self.app_subnets = vpc.select_subnets(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
        )
        self.image = ecs.ContainerImage.from_ecr_repository(
            repository, config.image_tag
        )
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            cluster_name="shop",
            vpc=vpc,
            container_insights_v2=ecs.ContainerInsights.ENHANCED,
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name="/shop/app",
            retention=retention(config.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.task_environment = self._environment(config, data, auth, analytics)
        self.task_secrets = self._secrets(data)

        # Policies name the buckets by their known names (data.bucket_arn),
        # with the exact actions django-storages, the sinks and the archive
        # use; the object wildcard of each is acknowledged once.
        self.web_role = self._role(
            "WebTaskRole",
            {
                "media": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                f"clickstream/{CLICKSTREAM_PREFIX}": ["s3:PutObject"],
            },
            listed=["media"],
            reason="Product images and clickstream files are named at upload "
            "time; the role reaches only the media bucket and the "
            "clickstream prefix.",
        )
        self.web_role.add_to_policy(
            iam.PolicyStatement(
                actions=["firehose:PutRecordBatch", "firehose:PutRecord"],
                resources=[analytics.delivery_stream.attr_arn],
            )
        )
        self.jobs_role = self._role(
            "JobsTaskRole",
            {
                "archive": [
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ]
            },
            listed=["archive"],
            reason="The archive writes one file per table and day, named as "
            "it runs; the role reaches the archive bucket only.",
        )
        self.release_role = self._role(
            "ReleaseTaskRole",
            {"static": ["s3:GetObject", "s3:PutObject"]},
            listed=["static"],
            reason="Static files are fingerprinted names from collectstatic; "
            "the role reaches the static bucket only.",
        )
        self.bootstrap_role = iam.Role(
            self,
            "CognitoBootstrapTaskRole",
            assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        )
        self.bootstrap_role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "cognito-idp:ListUserPoolClients",
                    "cognito-idp:DescribeUserPoolClient",
                    "cognito-idp:ListGroups",
                    "cognito-idp:CreateGroup",
                    "cognito-idp:AdminGetUser",
                    "cognito-idp:AdminCreateUser",
                    "cognito-idp:AdminSetUserPassword",
                    "cognito-idp:AdminAddUserToGroup",
                ],
                resources=[auth.user_pool.user_pool_arn],
            )
        )
        self.bootstrap_role.add_to_policy(
            iam.PolicyStatement(actions=["cognito-idp:ListUserPools"], resources=["*"])
        )
        acknowledge(
            self.bootstrap_role,
            "AwsSolutions-IAM5[Resource::*]",
            "cognito-idp:ListUserPools has no resource-level permission; "
            "cognito_bootstrap finds the pool by name with it.",
        )

        self.web_task = self._task(
            "Web",
            family="shop-web",
            command=["web"],
            cpu=config.web_cpu,
            memory=config.web_memory,
            role=self.web_role,
            port=True,
        )
        self.jobs_task = self._task(
            "Jobs",
            family="shop-jobs",
            command=["manage", "run_jobs", "-v0"],
            cpu=512,
            memory=1024,
            role=self.jobs_role,
        )
        # The task worker (django.tasks): order emails and the dashboard's
        # "Run now", which runs the same jobs as run_jobs, hence its role.
        self.worker_task = self._task(
            "Worker",
            family="shop-worker",
            command=["manage", "db_worker", "--no-reload", "-v1"],
            cpu=256,
            memory=512,
            role=self.jobs_role,
        )
        self.migrate_task = self._task(
            "Migrate",
            family="shop-migrate",
            command=["migrate"],
            cpu=512,
            memory=1024,
            role=self.release_role,
        )
        self.bootstrap_task = self._task(
            "CognitoBootstrap",
            family="shop-cognito-bootstrap",
            command=["manage", "cognito_bootstrap"],
            cpu=256,
            memory=512,
            role=self.bootstrap_role,
        )
        self._load_balancer(config, data)
        self._service(config)
        self._worker_service()

        network = (
            "awsvpcConfiguration={subnets=["
            + ",".join(self.app_subnets.subnet_ids)
            + "],securityGroups=["
            + app_security_group.security_group_id
            + "],assignPublicIp=DISABLED}"
        )
        CfnOutput(self, "ClusterName", value=self.cluster.cluster_name)
        CfnOutput(self, "RunTaskNetwork", value=network)
        CfnOutput(self, "LoadBalancerDns", value=self.alb.load_balancer_dns_name)
        CfnOutput(self, "ServiceName", value=self.service.service_name)
        CfnOutput(self, "WorkerServiceName", value=self.worker_service.service_name)

    def _role(
        self,
        id: str,
        objects: dict[str, list[str]],
        *,
        listed: list[str],
        reason: str,
    ) -> iam.Role:
        """A task role with `actions` on the objects under each bucket/prefix."""
        role = iam.Role(
            self, id, assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com")
        )
        for place, actions in objects.items():
            purpose, _, prefix = place.partition("/")
            resource = (
                f"{bucket_arn(self.config, purpose)}/{prefix + '/' if prefix else ''}*"
            )
            role.add_to_policy(
                iam.PolicyStatement(actions=actions, resources=[resource])
            )
            acknowledge(role, f"AwsSolutions-IAM5[Resource::{resource}]", reason)
        for purpose in listed:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:ListBucket", "s3:GetBucketLocation"],
                    resources=[bucket_arn(self.config, purpose)],
                )
            )
        return role

    # -- configuration -------------------------------------------------------

    def _environment(
        self,
        config: Config,
        data: DataStack,
        auth: AuthStack,
        analytics: AnalyticsStack,
    ) -> dict[str, str]:
        hosts = [config.domain_name] if config.domain_name else [".cloudfront.net"]
        env = {
            "DJANGO_ALLOWED_HOSTS": ",".join(hosts),
            "DJANGO_CSRF_TRUSTED_ORIGINS": ",".join(
                f"https://{h.lstrip('.')}" for h in hosts
            )
            if config.domain_name
            else "",
            "DJANGO_SECURE_COOKIES": "true",
            "DJANGO_SECURE_SSL_REDIRECT": "false",  # CloudFront redirects
            "DJANGO_SECURE_HSTS_SECONDS": "31536000",
            # CloudFront and the ALB both append to X-Forwarded-For.
            "TRUSTED_PROXY_COUNT": "2",
            "DJANGO_TRUST_X_FORWARDED_PROTO": "true"
            if config.origin_https
            else "false",
            "DJANGO_USE_X_FORWARDED_HOST": "false",  # CloudFront forwards Host
            "AWS_REGION": self.region,
            "AWS_STORAGE_BUCKET_NAME": data.media.bucket_name,
            # Media keys live under media/ so that CloudFront's /media/*
            # maps onto them (the app passes it to django-storages).
            "AWS_S3_LOCATION": "media",
            "AWS_ARCHIVE_BUCKET": data.archive.bucket_name,
            # Where the release task's publish-static copies collectstatic.
            "STATIC_BUCKET": data.static.bucket_name,
            "AWS_ARCHIVE_PREFIX": "archive",
            "ATHENA_DATABASE": analytics.database_name,
            "ANALYTICS_SINKS": "analytics.sinks.DatabaseSink,analytics.sinks.FirehoseSink",
            "ANALYTICS_S3_BUCKET": data.clickstream.bucket_name,
            "ANALYTICS_S3_PREFIX": CLICKSTREAM_PREFIX,
            "ANALYTICS_FIREHOSE_STREAM": analytics.delivery_stream.ref,
            "COGNITO_USER_POOL_ID": auth.user_pool.user_pool_id,
            "COGNITO_CLIENT_ID": auth.client.user_pool_client_id,
            "COGNITO_DOMAIN": auth.hosted_ui_url,
            "LOG_FORMAT": "json",
            "GUNICORN_WORKERS": str(config.gunicorn_workers),
            "GUNICORN_THREADS": str(config.gunicorn_threads),
            "PORT": str(CONTAINER_PORT),
            # Amazon SES over SMTP with STARTTLS; the user and password are
            # secrets (_secrets).
            "EMAIL_HOST": config.email_host,
            "EMAIL_PORT": str(config.email_port),
            "EMAIL_USE_TLS": "true",
            "SHOP_CURRENCY": config.currency,
            # Named even when off: settings would add Stripe by itself
            # whenever a STRIPE_SECRET_KEY is present.
            "SHOP_PAYMENT_PROVIDERS": ",".join(
                [CASH_PROVIDER, STRIPE_PROVIDER]
                if config.card_payments
                else [CASH_PROVIDER]
            ),
        }
        if config.email_from:
            env["DEFAULT_FROM_EMAIL"] = config.email_from
        if config.card_payments:
            env["STRIPE_PUBLISHABLE_KEY"] = config.stripe_publishable_key
        if config.domain_name:
            env["SITE_URL"] = config.site_url
            env["AWS_S3_CUSTOM_DOMAIN"] = f"{config.domain_name}"
        if data.redis is not None:
            env["REDIS_URL"] = data.redis_url
        if data.proxy is not None:
            # The entrypoint builds DATABASE_URL from these and the secret's
            # username and password, so a rotated password needs no deploy.
            env["DB_HOST"] = data.proxy.endpoint
            env["DB_PORT"] = "5432"
            env["DB_NAME"] = DATABASE_NAME
            env["DATABASE_SSLMODE"] = "require"
        return env

    def _secrets(self, data: DataStack) -> dict[str, ecs.Secret]:
        secrets = {
            "DJANGO_SECRET_KEY": ecs.Secret.from_secrets_manager(
                data.django_secret_key
            ),
            "DJANGO_ORIGIN_SECRET": ecs.Secret.from_secrets_manager(data.origin_secret),
        }
        if data.database is not None:
            secret = data.database.secret
            secrets["DB_USER"] = ecs.Secret.from_secrets_manager(secret, "username")
            secrets["DB_PASSWORD"] = ecs.Secret.from_secrets_manager(secret, "password")
        else:
            secrets["DATABASE_URL"] = ecs.Secret.from_secrets_manager(
                data.database_url_secret
            )
        secrets["EMAIL_HOST_USER"] = ecs.Secret.from_secrets_manager(
            data.email_secret, "username"
        )
        secrets["EMAIL_HOST_PASSWORD"] = ecs.Secret.from_secrets_manager(
            data.email_secret, "password"
        )
        if self.config.card_payments:
            secrets["STRIPE_SECRET_KEY"] = ecs.Secret.from_secrets_manager(
                data.stripe_secret, "secret_key"
            )
            secrets["STRIPE_WEBHOOK_SECRET"] = ecs.Secret.from_secrets_manager(
                data.stripe_secret, "webhook_secret"
            )
        return secrets

    def _task(
        self,
        id: str,
        *,
        family: str,
        command: list[str],
        cpu: int,
        memory: int,
        role: iam.IRole,
        port: bool = False,
    ) -> ecs.FargateTaskDefinition:
        task = ecs.FargateTaskDefinition(
            self,
            f"{id}Task",
            family=family,
            cpu=cpu,
            memory_limit_mib=memory,
            task_role=role,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        container = task.add_container(
            "Container",
            container_name="web" if port else "app",
            image=self.image,
            command=command,
            environment=self.task_environment,
            secrets=self.task_secrets,
            logging=ecs.LogDriver.aws_logs(
                stream_prefix=family, log_group=self.log_group
            ),
            readonly_root_filesystem=False,
            stop_timeout=Duration.seconds(30),
            health_check=ecs.HealthCheck(
                command=["CMD-SHELL", LIVENESS_PROBE],
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(30),
            )
            if port
            else None,
        )
        if port:
            container.add_port_mappings(
                ecs.PortMapping(container_port=CONTAINER_PORT, name="http")
            )
        acknowledge(
            task,
            "AwsSolutions-IAM5[Resource::*]",
            "The execution role's ecr:GetAuthorizationToken has no "
            "resource-level permission; every other grant names its resource.",
        )
        acknowledge(
            task,
            "AwsSolutions-ECS2",
            "Only non-secret settings (names, hosts, switches) are plain "
            "environment variables; every secret comes from Secrets Manager.",
        )
        return task

    # -- load balancer and service -------------------------------------------

    def _cloudfront_prefix_list(self, config: Config) -> str:
        if config.cloudfront_prefix_list_id:
            return config.cloudfront_prefix_list_id
        # Looked up by name at deploy time (the ID differs per region), so
        # synthesis stays offline and no account's ID is written down.
        lookup = cr.AwsCustomResource(
            self,
            "CloudFrontPrefixList",
            on_update=cr.AwsSdkCall(
                service="EC2",
                action="describeManagedPrefixLists",
                parameters={
                    "Filters": [
                        {"Name": "prefix-list-name", "Values": [CLOUDFRONT_PREFIX_LIST]}
                    ]
                },
                physical_resource_id=cr.PhysicalResourceId.of(CLOUDFRONT_PREFIX_LIST),
                output_paths=["PrefixLists.0.PrefixListId"],
            ),
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
        )
        acknowledge(
            lookup,
            "AwsSolutions-IAM5[Resource::*]",
            "ec2:DescribeManagedPrefixLists has no resource-level permission.",
        )
        self._acknowledge_custom_resource_provider()
        return lookup.get_response_field("PrefixLists.0.PrefixListId")

    def _acknowledge_custom_resource_provider(self) -> None:
        # AwsCustomResource's provider is a singleton named after its UUID.
        uuid = cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        provider = self.node.try_find_child(f"AWS{uuid}")
        if provider is None:
            return
        acknowledge(
            provider,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "CDK's own provider for a one-call custom resource; the managed "
            "policy only lets it write its logs.",
        )

    def _load_balancer(self, config: Config, data: DataStack) -> None:
        port = 443 if config.origin_https else 80
        ec2.CfnSecurityGroupIngress(
            self,
            "AlbFromCloudFront",
            group_id=self.alb_security_group.security_group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            source_prefix_list_id=self._cloudfront_prefix_list(config),
            description="CloudFront origin-facing",
        )
        self.alb = elbv2.ApplicationLoadBalancer(
            self,
            "Alb",
            vpc=self.vpc,
            internet_facing=True,
            security_group=self.alb_security_group,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            drop_invalid_header_fields=True,
            deletion_protection=True,
            idle_timeout=Duration.seconds(60),
        )
        self.alb.log_access_logs(data.access_logs, prefix="alb")
        if config.origin_https:
            self.listener = self.alb.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[
                    elbv2.ListenerCertificate.from_arn(config.alb_certificate_arn)
                ],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                open=False,
                default_action=elbv2.ListenerAction.fixed_response(
                    403, content_type="text/plain", message_body="Forbidden"
                ),
            )
        else:
            self.listener = self.alb.add_listener(
                "Http",
                port=80,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=False,
                default_action=elbv2.ListenerAction.fixed_response(
                    403, content_type="text/plain", message_body="Forbidden"
                ),
            )
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "WebTargets",
            vpc=self.vpc,
            port=CONTAINER_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            deregistration_delay=Duration.seconds(30),
            health_check=elbv2.HealthCheck(
                path=READINESS_PATH,
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        origin_secret = data.origin_secret.secret_value.unsafe_unwrap()
        self.listener.add_action(
            "FromCloudFront",
            priority=10,
            conditions=[
                elbv2.ListenerCondition.http_header(ORIGIN_HEADER, [origin_secret])
            ],
            action=elbv2.ListenerAction.forward([self.target_group]),
        )

    def _service(self, config: Config) -> None:
        self.service = self._fargate_service(
            "WebService",
            name="shop-web",
            task=self.web_task,
            desired_count=config.web_min_tasks,
            health_check_grace_period=Duration.seconds(60),
        )
        self.service.attach_to_application_target_group(self.target_group)
        scaling = self.service.auto_scale_task_count(
            min_capacity=config.web_min_tasks, max_capacity=config.web_max_tasks
        )
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=60,
            scale_in_cooldown=Duration.minutes(5),
            scale_out_cooldown=Duration.minutes(1),
        )
        scaling.scale_on_request_count(
            "Requests",
            requests_per_target=config.requests_per_task_minute,
            target_group=self.target_group,
            scale_in_cooldown=Duration.minutes(5),
            scale_out_cooldown=Duration.minutes(1),
        )

    def _worker_service(self) -> None:
        # Not behind the load balancer and reached by no one: it only polls
        # the database. A deploy starts the new worker before stopping the
        # old, whose SIGTERM lets a running task finish (the stop timeout).
        self.worker_service = self._fargate_service(
            "WorkerService", name="shop-worker", task=self.worker_task, desired_count=1
        )

    def _fargate_service(
        self, id: str, *, name: str, task, desired_count: int, **kwargs
    ) -> ecs.FargateService:
        """A service in the app subnets, no public IP, rolled back if it fails."""
        return ecs.FargateService(
            self,
            id,
            service_name=name,
            cluster=self.cluster,
            task_definition=task,
            desired_count=desired_count,
            assign_public_ip=False,
            vpc_subnets=ec2.SubnetSelection(
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
            ),
            security_groups=[self.app_security_group],
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            **kwargs,
        )
