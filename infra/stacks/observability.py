"""Alarms to an SNS topic, a dashboard, and Logs Insights queries."""

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import Config
from infra.stacks.analytics import AnalyticsStack
from infra.stacks.data import DataStack
from infra.stacks.web import WebStack

MINUTE = Duration.minutes(1)


class ObservabilityStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        web: WebStack,
        data: DataStack,
        analytics: AnalyticsStack,
        **kwargs,
    ):
        super().__init__(scope, id, **kwargs)
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the shop's alarm topic",
            enable_key_rotation=True,
        )
        # CloudWatch alarms can publish only to topics whose key lets them.
        key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"),
            "kms:Decrypt",
            "kms:GenerateDataKey*",
        )
        self.topic = sns.Topic(
            self,
            "Alarms",
            topic_name="shop-alarms",
            master_key=key,
            enforce_ssl=True,
        )
        if config.alarm_email:
            self.topic.add_subscription(
                subscriptions.EmailSubscription(config.alarm_email)
            )
        self.alarms: dict[str, cloudwatch.Alarm] = {}

        alb = web.alb.metrics
        requests = alb.request_count(period=MINUTE)
        errors = cloudwatch.MathExpression(
            label="5xx % of requests",
            expression="IF(requests > 0, 100 * (FILL(elb, 0) + FILL(target, 0)) / requests, 0)",
            using_metrics={
                "requests": requests,
                "elb": alb.http_code_elb(
                    elbv2.HttpCodeElb.ELB_5XX_COUNT, period=MINUTE
                ),
                "target": alb.http_code_target(
                    elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=MINUTE
                ),
            },
            period=MINUTE,
        )
        self._alarm(
            "shop-5xx-rate",
            errors,
            threshold=1,
            periods=5,
            datapoints=3,
            description="More than 1% of requests answered 5xx",
        )
        latency = alb.target_response_time(statistic="p95", period=MINUTE)
        self._alarm(
            "shop-p95-latency",
            latency,
            threshold=1.0,
            periods=5,
            datapoints=5,
            description="p95 response time over 1 s for 5 minutes",
        )
        targets = web.target_group.metrics
        self._alarm(
            "shop-unhealthy-tasks",
            targets.unhealthy_host_count(statistic="Maximum", period=MINUTE),
            threshold=0,
            periods=5,
            datapoints=3,
            description="A web task fails /healthz (database or Redis unreachable)",
        )
        self._alarm(
            "shop-no-healthy-tasks",
            targets.healthy_host_count(statistic="Minimum", period=MINUTE),
            threshold=1,
            periods=2,
            datapoints=2,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            missing=cloudwatch.TreatMissingData.BREACHING,
            description="No web task passes its health check",
        )
        if data.database is not None:
            self._alarm(
                "shop-db-cpu",
                data.database.metric_cpu_utilization(period=Duration.minutes(5)),
                threshold=80,
                periods=3,
                datapoints=3,
                description="Database CPU over 80% for 15 minutes",
            )
            self._alarm(
                "shop-db-connections",
                data.database.metric_database_connections(
                    statistic="Maximum", period=MINUTE
                ),
                threshold=300,
                periods=5,
                datapoints=3,
                description="Database connections near max_connections "
                "(RDS Proxy should hold them far below)",
            )
        stream = analytics.delivery_stream.ref
        delivered = cloudwatch.Metric(
            namespace="AWS/Firehose",
            metric_name="DeliveryToS3.Success",
            dimensions_map={"DeliveryStreamName": stream},
            statistic="Minimum",
            period=Duration.minutes(5),
        )
        self._alarm(
            "shop-firehose-delivery-failures",
            delivered,
            threshold=1,
            periods=3,
            datapoints=3,
            comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            description="Firehose failed to deliver clickstream batches to S3",
        )
        freshness = cloudwatch.Metric(
            namespace="AWS/Firehose",
            metric_name="DeliveryToS3.DataFreshness",
            dimensions_map={"DeliveryStreamName": stream},
            statistic="Maximum",
            period=Duration.minutes(5),
        )
        self._alarm(
            "shop-firehose-data-freshness",
            freshness,
            threshold=900,
            periods=3,
            datapoints=3,
            description="Clickstream records older than 15 minutes not yet in S3",
        )
        job_failures = logs.MetricFilter(
            self,
            "JobFailures",
            log_group=web.log_group,
            filter_pattern=logs.FilterPattern.all(
                logs.FilterPattern.string_value("$.logger", "=", "adminpanel.jobs"),
                logs.FilterPattern.string_value("$.level", "=", "ERROR"),
            ),
            metric_namespace="Shop",
            metric_name="JobFailures",
            metric_value="1",
            default_value=0,
        )
        self._alarm(
            "shop-job-failures",
            job_failures.metric(statistic="Sum", period=Duration.minutes(5)),
            threshold=0,
            periods=1,
            datapoints=1,
            description="A periodic job (run_jobs) logged a failure",
        )

        logs.QueryDefinition(
            self,
            "ErrorsQuery",
            query_definition_name="shop/errors-by-request",
            query_string=logs.QueryString(
                fields=[
                    "@timestamp",
                    "level",
                    "logger",
                    "request_id",
                    "method",
                    "path",
                    "status",
                    "message",
                ],
                filter_statements=["level = 'ERROR' or status >= 500"],
                sort="@timestamp desc",
                limit=200,
            ),
            log_groups=[web.log_group],
        )
        logs.QueryDefinition(
            self,
            "SlowPathsQuery",
            query_definition_name="shop/slow-paths",
            query_string=logs.QueryString(
                fields=["@timestamp", "request_id", "path", "status", "duration_ms"],
                filter_statements=["ispresent(duration_ms)"],
                stats_statements=[
                    "pct(duration_ms, 95) as p95_ms, count(*) as requests by path"
                ],
                sort="p95_ms desc",
                limit=50,
            ),
            log_groups=[web.log_group],
        )
        self._dashboard(web, data, requests, errors, latency, delivered, freshness)
        CfnOutput(self, "AlarmTopicArn", value=self.topic.topic_arn)

    def _alarm(
        self,
        name: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        periods: int,
        datapoints: int,
        description: str,
        comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        missing=cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            name.title().replace("-", ""),
            alarm_name=name,
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=datapoints,
            comparison_operator=comparison,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        alarm.add_ok_action(actions.SnsAction(self.topic))
        self.alarms[name] = alarm
        return alarm

    def _dashboard(self, web, data, requests, errors, latency, delivered, freshness):
        service = web.service
        widgets = [
            [
                cloudwatch.GraphWidget(
                    title="Requests / min", left=[requests], width=8
                ),
                cloudwatch.GraphWidget(title="5xx %", left=[errors], width=8),
                cloudwatch.GraphWidget(
                    title="p95 latency (s)", left=[latency], width=8
                ),
            ],
            [
                cloudwatch.GraphWidget(
                    title="Web tasks CPU / memory %",
                    left=[
                        service.metric_cpu_utilization(),
                        service.metric_memory_utilization(),
                    ],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title="Healthy / unhealthy tasks",
                    left=[
                        web.target_group.metrics.healthy_host_count(),
                        web.target_group.metrics.unhealthy_host_count(),
                    ],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title="Firehose delivery",
                    left=[delivered],
                    right=[freshness],
                    width=8,
                ),
            ],
        ]
        if data.database is not None:
            widgets.append(
                [
                    cloudwatch.GraphWidget(
                        title="Database CPU %",
                        left=[data.database.metric_cpu_utilization()],
                        width=12,
                    ),
                    cloudwatch.GraphWidget(
                        title="Database connections",
                        left=[data.database.metric_database_connections()],
                        width=12,
                    ),
                ]
            )
        widgets.append(
            [
                cloudwatch.AlarmStatusWidget(
                    title="Alarms", alarms=list(self.alarms.values()), width=24
                )
            ]
        )
        cloudwatch.Dashboard(self, "Dashboard", dashboard_name="shop", widgets=widgets)
