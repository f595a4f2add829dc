"""
The Glue/Athena tables over the S3 archive and the clickstream's JSON Lines:
one definition (``athena_tables``), rendered as DDL by ``athena_ddl`` and as
Glue tables by the CDK app (``infra/stacks/analytics.py``), so the two
cannot drift.

Both are JSON Lines (``analytics.jsonlines``) read by the Hive JSON SerDe,
which AWS recommends over the OpenX one; see docs/operations.md, "Athena".
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings

from .archive import TABLES, athena_type

PROJECTION_START = "2020-01-01"
HIVE_JSON_SERDE = "org.apache.hive.hcatalog.data.JsonSerDe"
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"


@dataclass(frozen=True)
class AthenaTable:
    name: str
    columns: list[tuple[str, str]]
    partition_keys: list[str]
    location: str
    # Table properties: the classification and the partition projection.
    parameters: dict[str, str]
    serde: str = HIVE_JSON_SERDE
    # None: timestamps are parsed by java.sql.Timestamp.valueOf, the form
    # analytics.jsonlines writes.
    serde_parameters: dict[str, str] = field(default_factory=dict)


def _projection(location: str, *, hour: bool = False) -> dict[str, str]:
    props = {
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": f"{PROJECTION_START},NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
    }
    template = f"{location}dt=${{dt}}/"
    if hour:
        props |= {
            "projection.hour.type": "integer",
            "projection.hour.range": "0,23",
            "projection.hour.digits": "2",
        }
        template += "hour=${hour}/"
    props["storage.location.template"] = template
    return props


def athena_tables(
    *, archive_location: str, clickstream_location: str
) -> list[AthenaTable]:
    """
    Every archived table (partitioned by ``dt`` where time-based) and the
    clickstream (by ``dt`` and ``hour``); locations end with a slash.
    Columns and types come from the models, never written by hand.
    """
    tables = []
    for table in TABLES:
        location = f"{archive_location}{table.name}/"
        tables.append(
            AthenaTable(
                name=table.name,
                columns=[(f.attname, athena_type(f)) for f in table.fields()],
                partition_keys=["dt"] if table.partitioned else [],
                location=location,
                parameters={"classification": "json"}
                | (_projection(location) if table.partitioned else {}),
            )
        )
    event_fields = [
        f
        for f in apps.get_model("analytics.Event")._meta.concrete_fields
        if f.name != "id"
    ]
    tables.append(
        AthenaTable(
            name="clickstream",
            columns=[(f.attname, athena_type(f)) for f in event_fields],
            partition_keys=["dt", "hour"],
            location=clickstream_location,
            parameters={"classification": "json"}
            | _projection(clickstream_location, hour=True),
        )
    )
    return tables


def _quoted(props: dict[str, str]) -> str:
    return ",\n  ".join(f"'{k}'='{v}'" for k, v in props.items())


def table_ddl(table: AthenaTable, *, database: str) -> str:
    """One ``CREATE EXTERNAL TABLE`` statement (no trailing ``;``)."""
    columns = ",\n".join(f"  `{name}` {type_}" for name, type_ in table.columns)
    partition = ""
    if table.partition_keys:
        keys = ", ".join(f"`{k}` string" for k in table.partition_keys)
        partition = f"\nPARTITIONED BY ({keys})"
    serde = f"ROW FORMAT SERDE '{table.serde}'\n"
    if table.serde_parameters:
        serde += f"WITH SERDEPROPERTIES (\n  {_quoted(table.serde_parameters)}\n)\n"
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{table.name}` (\n"
        f"{columns}\n)"
        f"{partition}\n"
        f"{serde}"
        f"STORED AS INPUTFORMAT '{TEXT_INPUT}'\n"
        f"OUTPUTFORMAT '{TEXT_OUTPUT}'\n"
        f"LOCATION '{table.location}'\n"
        f"TBLPROPERTIES (\n  {_quoted(table.parameters)}\n)"
    )


def athena_ddl(
    *,
    bucket: str | None = None,
    prefix: str | None = None,
    database: str | None = None,
    clickstream_bucket: str | None = None,
    clickstream_prefix: str | None = None,
) -> str:
    """The database and every table of ``athena_tables``, separated by ``;``."""
    bucket = bucket or settings.AWS_ARCHIVE_BUCKET
    prefix = (settings.AWS_ARCHIVE_PREFIX if prefix is None else prefix).strip("/")
    database = database or settings.ATHENA_DATABASE
    cs_bucket = clickstream_bucket or getattr(
        settings, "ANALYTICS_S3_BUCKET", "shop-clickstream"
    )
    cs_prefix = (
        clickstream_prefix or getattr(settings, "ANALYTICS_S3_PREFIX", "clickstream")
    ).strip("/")
    tables = athena_tables(
        archive_location=f"s3://{bucket}/{prefix + '/' if prefix else ''}",
        clickstream_location=f"s3://{cs_bucket}/{cs_prefix}/",
    )
    statements = [f"CREATE DATABASE IF NOT EXISTS `{database}`"]
    statements += [table_ddl(t, database=database) for t in tables]
    return ";\n\n".join(statements) + ";\n"
