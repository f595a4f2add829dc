"""Glue/Athena DDL for the S3 archive and for the clickstream's JSON Lines."""

from django.apps import apps
from django.conf import settings

from .archive import TABLES, athena_type

PROJECTION_START = "2020-01-01"


def _columns(fields) -> str:
    return ",\n".join(f"  `{f.attname}` {athena_type(f)}" for f in fields)


def _projection(location: str, *, hour: bool = False) -> list[str]:
    props = [
        "'projection.enabled'='true'",
        "'projection.dt.type'='date'",
        "'projection.dt.format'='yyyy-MM-dd'",
        f"'projection.dt.range'='{PROJECTION_START},NOW'",
        "'projection.dt.interval'='1'",
        "'projection.dt.interval.unit'='DAYS'",
    ]
    template = f"{location}dt=${{dt}}/"
    if hour:
        props += [
            "'projection.hour.type'='integer'",
            "'projection.hour.range'='0,23'",
            "'projection.hour.digits'='2'",
        ]
        template += "hour=${hour}/"
    props.append(f"'storage.location.template'='{template}'")
    return props


def athena_ddl(
    *,
    bucket: str | None = None,
    prefix: str | None = None,
    database: str | None = None,
    clickstream_bucket: str | None = None,
    clickstream_prefix: str | None = None,
) -> str:
    """
    ``CREATE EXTERNAL TABLE`` statements, separated by ``;``, for every
    archived table (CSV, partitioned by ``dt`` where time-based, with
    partition projection) and for the clickstream (JSON Lines, by dt/hour).
    Columns and types are derived from the models, never written by hand.
    """
    bucket = bucket or settings.AWS_ARCHIVE_BUCKET
    prefix = (settings.AWS_ARCHIVE_PREFIX if prefix is None else prefix).strip("/")
    database = database or settings.ATHENA_DATABASE
    base = f"s3://{bucket}/{prefix + '/' if prefix else ''}"
    statements = [f"CREATE DATABASE IF NOT EXISTS `{database}`"]
    for table in TABLES:
        location = f"{base}{table.name}/"
        props = ["'skip.header.line.count'='1'"]
        partition = ""
        if table.partitioned:
            partition = "\nPARTITIONED BY (`dt` string)"
            props += _projection(location)
        statements.append(
            f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table.name}` (\n"
            f"{_columns(table.fields())}\n)"
            f"{partition}\n"
            "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\n"
            "WITH SERDEPROPERTIES ('separatorChar'=',', 'quoteChar'='\"', 'escapeChar'='\\\\')\n"
            "STORED AS TEXTFILE\n"
            f"LOCATION '{location}'\n"
            f"TBLPROPERTIES (\n  " + ",\n  ".join(props) + "\n)"
        )
    cs_bucket = clickstream_bucket or getattr(
        settings, "ANALYTICS_S3_BUCKET", "shop-clickstream"
    )
    cs_prefix = (
        clickstream_prefix or getattr(settings, "ANALYTICS_S3_PREFIX", "clickstream")
    ).strip("/")
    location = f"s3://{cs_bucket}/{cs_prefix}/"
    event_fields = [
        f
        for f in apps.get_model("analytics.Event")._meta.concrete_fields
        if f.name != "id"
    ]
    statements.append(
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`clickstream` (\n"
        f"{_columns(event_fields)}\n)\n"
        "PARTITIONED BY (`dt` string, `hour` string)\n"
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'\n"
        "WITH SERDEPROPERTIES ('ignore.malformed.json'='true', 'timestamp.formats'="
        "\"yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX,yyyy-MM-dd'T'HH:mm:ssXXX\")\n"
        "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'\n"
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
        f"LOCATION '{location}'\n"
        "TBLPROPERTIES (\n  " + ",\n  ".join(_projection(location, hour=True)) + "\n)"
    )
    return ";\n\n".join(statements) + ";\n"
