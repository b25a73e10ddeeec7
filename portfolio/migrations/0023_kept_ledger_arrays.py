"""A kept ledger's steps stored as arrays (each step's day and flow, in binary) and one text (each
step's totals) instead of a JSON list of steps: a book reads every position's row, and JSON made an
object of every number of every step. The rows are converted in place, both ways."""

import numpy as np
from django.db import migrations, models

DAYS, FLOWS = np.dtype("<i4"), np.dtype("<f8")
BATCH = 500


def to_arrays(apps, schema_editor):
    KeptLedger = apps.get_model("portfolio", "KeptLedger")
    rows = []
    for row in KeptLedger.objects.order_by("pk").iterator(chunk_size=BATCH):
        steps = row.steps  # [[day's ordinal, flow or null, "totals"], ...]
        row.days = np.array([step[0] for step in steps], dtype=DAYS).tobytes()
        row.flows = np.array([np.nan if step[1] is None else step[1] for step in steps], dtype=FLOWS).tobytes()
        row.totals = ";".join(step[2] for step in steps)
        rows.append(row)
        if len(rows) == BATCH:
            KeptLedger.objects.bulk_update(rows, ["days", "flows", "totals"])
            rows = []
    KeptLedger.objects.bulk_update(rows, ["days", "flows", "totals"])


def to_json(apps, schema_editor):
    KeptLedger = apps.get_model("portfolio", "KeptLedger")
    rows = []
    for row in KeptLedger.objects.order_by("pk").iterator(chunk_size=BATCH):
        days = np.frombuffer(row.days, dtype=DAYS).tolist()
        flows = [None if np.isnan(flow) else flow for flow in np.frombuffer(row.flows, dtype=FLOWS).tolist()]
        totals = row.totals.split(";") if row.totals else []
        row.steps = [list(step) for step in zip(days, flows, totals, strict=True)]
        rows.append(row)
        if len(rows) == BATCH:
            KeptLedger.objects.bulk_update(rows, ["steps"])
            rows = []
    KeptLedger.objects.bulk_update(rows, ["steps"])


class Migration(migrations.Migration):
    dependencies = [
        ("portfolio", "0022_milestone_open_by_due"),
    ]

    operations = [
        migrations.AddField(
            model_name="keptledger",
            name="days",
            field=models.BinaryField(default=b"", help_text="Each step's day: little-endian 32-bit ordinals."),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="keptledger",
            name="flows",
            field=models.BinaryField(
                default=b"", help_text="Each step's flow in US dollars: little-endian 64-bit floats, NaN for none."
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="keptledger",
            name="totals",
            field=models.TextField(
                default="",
                help_text='Each step\'s totals ("invested|realised|acquired|sold|records|cost|no rate"), joined by ";".',
            ),
            preserve_default=False,
        ),
        migrations.AlterField(model_name="keptledger", name="steps", field=models.JSONField(default=list)),
        migrations.RunPython(to_arrays, to_json),
        migrations.RemoveField(model_name="keptledger", name="steps"),
    ]
