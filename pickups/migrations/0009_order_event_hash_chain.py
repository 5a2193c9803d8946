"""Seal the order ledger: every event gets the SHA-256 of its content and of the previous event's seal.

Existing events are chained per order in id order (the order they were written in), a batch of
orders at a time. The seal itself is `pickups.custody.event_digest`, the one definition of it.
"""

from django.db import migrations, models

ORDERS_PER_BATCH = 500


def chain_existing_events(apps, schema_editor):
    from pickups.custody import event_digest

    OrderEvent = apps.get_model("pickups", "OrderEvent")
    last_order = 0
    while True:
        order_ids = list(
            OrderEvent.objects.filter(order_id__gt=last_order)
            .order_by("order_id")
            .values_list("order_id", flat=True)
            .distinct()[:ORDERS_PER_BATCH]
        )
        if not order_ids:
            return
        last_order = order_ids[-1]
        events = list(OrderEvent.objects.filter(order_id__in=order_ids).order_by("order_id", "id"))
        previous = {}
        for event in events:
            event.prev_hash = previous.get(event.order_id, "")
            event.hash = previous[event.order_id] = event_digest(event, event.prev_hash)
        OrderEvent.objects.bulk_update(events, ["prev_hash", "hash"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("pickups", "0008_order_promised_date"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderevent",
            name="prev_hash",
            field=models.CharField(
                blank=True,
                editable=False,
                help_text="The seal of the order's previous event; empty first.",
                max_length=64,
            ),
        ),
        migrations.AddField(
            model_name="orderevent",
            name="hash",
            field=models.CharField(
                default="",
                editable=False,
                help_text="SHA-256 of this event's content and the previous seal.",
                max_length=64,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop, elidable=True),
    ]
