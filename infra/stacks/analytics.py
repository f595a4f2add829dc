"""
The clickstream at scale: Firehose into S3 with the S3 sink's own
`dt=/hour=` partitions, Glue tables from `athena_ddl`'s definitions, and an
Athena workgroup with a per-query scan limit.
"""

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from adminpanel.athena import TEXT_INPUT, TEXT_OUTPUT, athena_tables
from infra.config import Config
from infra.nag import acknowledge
from infra.stacks.data import ARCHIVE_PREFIX, CLICKSTREAM_PREFIX, bucket_arn

FIREHOSE_STREAM = "shop-clickstream"
# The S3 sink writes `clickstream/dt=YYYY-MM-DD/hour=HH/` by the event's UTC
# time; Firehose partitions by the same field of each JSON line.
PARTITION_QUERY = "{dt: .occurred_at[0:10], hour: .occurred_at[11:13]}"
PARTITION_PREFIX = (
    f"{CLICKSTREAM_PREFIX}/dt=!{{partitionKeyFromQuery:dt}}"
    "/hour=!{partitionKeyFromQuery:hour}/"
)
ERROR_PREFIX = (
    "clickstream-errors/!{firehose:error-output-type}/!{timestamp:yyyy-MM-dd}/"
)


class AnalyticsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        clickstream_bucket: s3.IBucket,
        archive_bucket: s3.IBucket,
        access_logs: s3.IBucket,
        **kwargs,
    ):
        super().__init__(scope, id, **kwargs)
        from django.conf import settings

        self._firehose(config, clickstream_bucket)
        self.database_name = settings.ATHENA_DATABASE
        self.glue_database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=self.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name,
                description="The shop's archive and clickstream (athena_ddl)",
            ),
        )
        self.glue_tables = {}
        # The very tables `manage.py athena_ddl` prints, so they cannot drift.
        for table in athena_tables(
            archive_location=f"s3://{archive_bucket.bucket_name}/{ARCHIVE_PREFIX}/",
            clickstream_location=(
                f"s3://{clickstream_bucket.bucket_name}/{CLICKSTREAM_PREFIX}/"
            ),
        ):
            cfn = glue.CfnTable(
                self,
                f"Table{table.name.title().replace('_', '')}",
                catalog_id=self.account,
                database_name=self.database_name,
                table_input=glue.CfnTable.TableInputProperty(
                    name=table.name,
                    table_type="EXTERNAL_TABLE",
                    parameters=table.parameters,
                    partition_keys=[
                        glue.CfnTable.ColumnProperty(name=key, type="string")
                        for key in table.partition_keys
                    ],
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        columns=[
                            glue.CfnTable.ColumnProperty(name=name, type=type_)
                            for name, type_ in table.columns
                        ],
                        location=table.location,
                        input_format=TEXT_INPUT,
                        output_format=TEXT_OUTPUT,
                        serde_info=glue.CfnTable.SerdeInfoProperty(
                            serialization_library=table.serde,
                            parameters=table.serde_parameters,
                        ),
                    ),
                ),
            )
            cfn.add_resource_dependency(self.glue_database)
            self.glue_tables[table.name] = cfn

        self.results = s3.Bucket(
            self,
            "AthenaResults",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="s3/athenaresults/",
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(30))],
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=False,
        )
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name="shop",
            description="Queries over the archive and the clickstream",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=config.athena_scan_limit_bytes,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.results.bucket_name}/results/",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_S3"
                    ),
                ),
            ),
        )

    def _firehose(self, config: Config, bucket: s3.IBucket) -> None:
        clickstream_arn = bucket_arn(config, "clickstream")
        self.firehose_log_group = logs.LogGroup(
            self,
            "FirehoseLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        log_stream = self.firehose_log_group.add_stream(
            "S3Delivery", log_stream_name="S3Delivery"
        )
        role = iam.Role(
            self,
            "FirehoseRole",
            assumed_by=iam.ServicePrincipal(
                "firehose.amazonaws.com",
                conditions={"StringEquals": {"sts:ExternalId": self.account}},
            ),
        )
        # The policy AWS documents for Firehose's S3 destination.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "s3:AbortMultipartUpload",
                    "s3:GetBucketLocation",
                    "s3:GetObject",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                    "s3:PutObject",
                ],
                resources=[clickstream_arn, f"{clickstream_arn}/*"],
            )
        )
        self.firehose_log_group.grant_write(role)
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{clickstream_arn}/*]",
            "Firehose names each object as it delivers; the role reaches "
            "the clickstream bucket only.",
        )
        self.delivery_stream = firehose.CfnDeliveryStream(
            self,
            "Clickstream",
            delivery_stream_name=FIREHOSE_STREAM,
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="AWS_OWNED_CMK"
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=clickstream_arn,
                role_arn=role.role_arn,
                prefix=PARTITION_PREFIX,
                error_output_prefix=ERROR_PREFIX,
                compression_format="GZIP",
                # Dynamic partitioning needs buffers of 64 MiB or more.
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=300, size_in_m_bs=64
                ),
                dynamic_partitioning_configuration=firehose.CfnDeliveryStream.DynamicPartitioningConfigurationProperty(
                    enabled=True,
                    retry_options=firehose.CfnDeliveryStream.RetryOptionsProperty(
                        duration_in_seconds=300
                    ),
                ),
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="MetadataExtraction",
                            parameters=[
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="MetadataExtractionQuery",
                                    parameter_value=PARTITION_QUERY,
                                ),
                                firehose.CfnDeliveryStream.ProcessorParameterProperty(
                                    parameter_name="JsonParsingEngine",
                                    parameter_value="JQ-1.6",
                                ),
                            ],
                        ),
                    ],
                ),
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True,
                    log_group_name=self.firehose_log_group.log_group_name,
                    log_stream_name=log_stream.log_stream_name,
                ),
            ),
        )
        self.delivery_stream.node.add_dependency(role)
