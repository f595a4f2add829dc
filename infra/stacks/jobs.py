"""
EventBridge Scheduler: `manage.py run_jobs` as a Fargate task every minute,
and the archive on its own schedule, disabled until an operator enables it
(docs/deploy.md, "Periodic jobs").
"""

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.config import Config
from infra.nag import acknowledge
from infra.stacks.web import WebStack

GROUP = "shop"
RUN_JOBS = "shop-run-jobs"
ARCHIVE = "shop-archive"


def _command_input(container: str, command: list[str]) -> str:
    import json

    return json.dumps(
        {"containerOverrides": [{"name": container, "command": command}]},
        separators=(",", ":"),
    )


class JobsStack(Stack):
    def __init__(
        self, scope: Construct, id: str, *, config: Config, web: WebStack, **kwargs
    ):
        super().__init__(scope, id, **kwargs)
        group = scheduler.CfnScheduleGroup(self, "Group", name=GROUP)
        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            ),
        )
        task = web.jobs_task
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecs:RunTask"],
                resources=[task.task_definition_arn],
                conditions={"ArnEquals": {"ecs:cluster": web.cluster.cluster_arn}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[task.task_role.role_arn, task.execution_role.role_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["ecs:TagResource"],
                resources=["*"],
                conditions={"StringEquals": {"ecs:CreateAction": "RunTask"}},
            )
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "ecs:TagResource on the tasks RunTask starts, whose ARNs do not "
            "exist yet; limited to the RunTask create action.",
        )

        def schedule(id, *, name, expression, state, command, retries, description):
            return scheduler.CfnSchedule(
                self,
                id,
                name=name,
                group_name=GROUP,
                description=description,
                schedule_expression=expression,
                schedule_expression_timezone="UTC",
                state=state,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(
                    mode="OFF"
                ),
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=web.cluster.cluster_arn,
                    role_arn=role.role_arn,
                    input=_command_input("app", command),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_retry_attempts=retries,
                        maximum_event_age_in_seconds=300,
                    ),
                    ecs_parameters=scheduler.CfnSchedule.EcsParametersProperty(
                        task_definition_arn=task.task_definition_arn,
                        launch_type="FARGATE",
                        platform_version="LATEST",
                        task_count=1,
                        network_configuration=scheduler.CfnSchedule.NetworkConfigurationProperty(
                            awsvpc_configuration=scheduler.CfnSchedule.AwsVpcConfigurationProperty(
                                subnets=web.app_subnets.subnet_ids,
                                security_groups=[
                                    web.app_security_group.security_group_id
                                ],
                                assign_public_ip="DISABLED",
                            )
                        ),
                    ),
                ),
            )

        # Overlapping runs are safe: each job takes a PostgreSQL advisory
        # lock, so a second task skips a job that is still running.
        self.run_jobs = schedule(
            "RunJobs",
            name=RUN_JOBS,
            expression="rate(1 minute)",
            state="ENABLED",
            command=["manage", "run_jobs", "-v0"],
            retries=0,
            description="manage.py run_jobs: the periodic jobs that are due",
        )
        self.archive = schedule(
            "Archive",
            name=ARCHIVE,
            expression=config.archive_schedule,
            state="ENABLED" if config.archive_schedule_enabled else "DISABLED",
            command=["manage", "run_jobs", "--job", "archive_to_s3", "-v0"],
            retries=2,
            description="manage.py run_jobs --job archive_to_s3 (off by default)",
        )
        for item in (self.run_jobs, self.archive):
            item.add_resource_dependency(group)
        CfnOutput(self, "ScheduleGroup", value=GROUP)
        CfnOutput(self, "ArchiveSchedule", value=ARCHIVE)
