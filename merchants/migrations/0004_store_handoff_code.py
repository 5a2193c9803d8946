# Store codes: a TOTP secret per store, and whether to text the store when a driver arrives.
#
# AddField with a callable default would call it once and give every existing store the SAME secret,
# so the field is added with an empty placeholder, each existing store gets its own secret, and only
# then does the field take the callable default that new stores use.

import pyotp
from django.db import migrations, models

import merchants.handoff_codes


def give_each_store_its_own_secret(apps, schema_editor):
    Store = apps.get_model("merchants", "Store")
    stores = list(Store.objects.filter(handoff_secret="").only("pk"))
    for store in stores:
        store.handoff_secret = pyotp.random_base32()
    Store.objects.bulk_update(stores, ["handoff_secret"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0003_site_window_settings"),
    ]

    operations = [
        migrations.AddField(
            model_name="store",
            name="text_on_arrival",
            field=models.BooleanField(default=False, verbose_name="text the store phone when a driver arrives"),
        ),
        migrations.AddField(
            model_name="store",
            name="handoff_secret",
            field=models.CharField(default="", editable=False, max_length=32),
            preserve_default=False,
        ),
        migrations.RunPython(give_each_store_its_own_secret, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="store",
            name="handoff_secret",
            field=models.CharField(default=merchants.handoff_codes.new_handoff_secret, editable=False, max_length=32),
        ),
    ]
