import re

from django.apps import apps
from django.core.management import call_command
from django.db import models

from adminpanel.archive import TABLES

# An independent statement of how model fields map to Athena types.
EXPECTED = {
    models.BigAutoField: "bigint",
    models.BigIntegerField: "bigint",
    models.ForeignKey: "bigint",
    models.OneToOneField: "bigint",
    models.PositiveSmallIntegerField: "smallint",
    models.PositiveIntegerField: "int",
    models.IntegerField: "int",
    models.BooleanField: "boolean",
    models.DateTimeField: "timestamp",
}


def expected_type(field):
    if isinstance(field, models.DecimalField):
        return f"decimal({field.max_digits},{field.decimal_places})"
    return EXPECTED.get(type(field), "string")


def parse(ddl: str) -> dict:
    tables = {}
    pattern = (
        r"CREATE EXTERNAL TABLE IF NOT EXISTS `(\w+)`\.`(\w+)` \((.*?)\n\)(.*?)(?=;\n)"
    )
    for _db, name, body, rest in re.findall(pattern, ddl, re.S):
        columns = re.findall(r"`(\w+)` ([\w(),]+?),?$", body, re.M)
        tables[name] = {"columns": columns, "rest": rest}
    return tables


def test_ddl_matches_the_models(capsys):
    call_command("athena_ddl", "--bucket", "b", "--prefix", "arch")
    tables = parse(capsys.readouterr().out)
    assert set(tables) == {t.name for t in TABLES} | {"clickstream"}
    for table in TABLES:
        model = apps.get_model(table.model_label)
        expected = [
            (f.attname, expected_type(f))
            for f in model._meta.concrete_fields
            if f.name not in {"password", "search_vector"}
        ]
        assert tables[table.name]["columns"] == expected, table.name
        rest = tables[table.name]["rest"]
        assert f"LOCATION 's3://b/arch/{table.name}/'" in rest
        assert ("PARTITIONED BY (`dt` string)" in rest) == table.partitioned
        if table.partitioned:
            assert "'projection.dt.type'='date'" in rest
    event = apps.get_model("analytics.Event")
    assert tables["clickstream"]["columns"] == [
        (f.attname, expected_type(f))
        for f in event._meta.concrete_fields
        if f.name != "id"
    ]
    assert "hour=${hour}" in tables["clickstream"]["rest"]
