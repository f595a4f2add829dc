"""
The Glue tables, from the same definitions `manage.py athena_ddl` prints:
the archive's tables (`adminpanel.archive.TABLES`, typed by `athena_type`)
and the clickstream (the Event model). Needs Django set up (`app.py` does).
"""

from dataclasses import dataclass

from django.apps import apps

from adminpanel.archive import TABLES, athena_type
from adminpanel.athena import _projection

CSV_SERDE = "org.apache.hadoop.hive.serde2.OpenCSVSerde"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"


@dataclass(frozen=True)
class GlueTable:
    name: str
    columns: list[tuple[str, str]]
    partition_keys: list[str]
    serde: str
    serde_parameters: dict[str, str]
    location: str
    parameters: dict[str, str]


def _properties(pairs: list[str]) -> dict[str, str]:
    """athena_ddl's "'key'='value'" table properties as a dict."""
    props = {}
    for pair in pairs:
        key, value = pair.split("=", 1)
        props[key.strip("'")] = value.strip("'")
    return props


def glue_tables(*, archive_location: str, clickstream_location: str) -> list[GlueTable]:
    """Every table athena_ddl creates; locations end with a slash."""
    tables = []
    for table in TABLES:
        location = f"{archive_location}{table.name}/"
        parameters = {"skip.header.line.count": "1", "classification": "csv"}
        if table.partitioned:
            parameters |= _properties(_projection(location))
        tables.append(
            GlueTable(
                name=table.name,
                columns=[(f.attname, athena_type(f)) for f in table.fields()],
                partition_keys=["dt"] if table.partitioned else [],
                serde=CSV_SERDE,
                serde_parameters={
                    "separatorChar": ",",
                    "quoteChar": '"',
                    "escapeChar": "\\",
                },
                location=location,
                parameters=parameters,
            )
        )
    event_fields = [
        f
        for f in apps.get_model("analytics.Event")._meta.concrete_fields
        if f.name != "id"
    ]
    tables.append(
        GlueTable(
            name="clickstream",
            columns=[(f.attname, athena_type(f)) for f in event_fields],
            partition_keys=["dt", "hour"],
            serde=JSON_SERDE,
            serde_parameters={
                "ignore.malformed.json": "true",
                "timestamp.formats": (
                    "yyyy-MM-dd'T'HH:mm:ss.SSSSSSXXX,yyyy-MM-dd'T'HH:mm:ssXXX"
                ),
            },
            location=clickstream_location,
            parameters={"classification": "json"}
            | _properties(_projection(clickstream_location, hour=True)),
        )
    )
    return tables
