"""The VPC: two AZs, private subnets for tasks and the database."""

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.config import Config
from infra.nag import acknowledge

APP_PORT = 8000


class NetworkStack(Stack):
    def __init__(self, scope: Construct, id: str, *, config: Config, **kwargs):
        super().__init__(scope, id, **kwargs)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                # Fargate tasks: out through NAT to Cognito, Firehose, ECR.
                ec2.SubnetConfiguration(
                    name="app",
                    subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
                    cidr_mask=22,
                ),
                # The database and Redis: no route out at all.
                ec2.SubnetConfiguration(
                    name="data",
                    subnet_type=ec2.SubnetType.PRIVATE_ISOLATED,
                    cidr_mask=24,
                ),
            ],
        )
        flow_logs = logs.LogGroup(
            self, "FlowLogs", retention=logs.RetentionDays.THREE_MONTHS
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        secrets_endpoint = self.vpc.add_interface_endpoint(
            "SecretsManager",
            service=ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        )
        acknowledge(
            secrets_endpoint,
            "AwsSolutions-EC23",
            "The endpoint admits the VPC's own CIDR on 443 (a GetAtt that "
            "cdk-nag cannot read as a range), not the internet.",
        )
        # The tasks' and the load balancer's groups live here, so the data
        # and web stacks can admit them without referring to each other.
        self.app_security_group = ec2.SecurityGroup(
            self,
            "AppTasks",
            vpc=self.vpc,
            description="Shop Fargate tasks (web, jobs, one-off)",
            allow_all_outbound=True,
        )
        # Its only ingress, CloudFront's prefix list, is added by the web
        # stack, which looks the list up.
        self.alb_security_group = ec2.SecurityGroup(
            self,
            "Alb",
            vpc=self.vpc,
            description="Shop ALB: CloudFront origin-facing addresses only",
            allow_all_outbound=False,
        )
        self.app_security_group.connections.allow_from(
            self.alb_security_group,
            ec2.Port.tcp(APP_PORT),
            "ALB to web tasks",
        )
