import re

from django.db import migrations


def one_spelling(address):
    """As notifications.services.contact_key on the day of this migration."""
    address = address.strip()
    if "@" in address:
        return address.lower()
    digits = re.sub(r"[^0-9]", "", address)
    if len(digits) == 10:
        return f"+1{digits}"
    return f"+{digits}" if address.startswith("+") or (len(digits) == 11 and digits[0] == "1") else digits


def respell(apps, schema_editor):
    OptOut = apps.get_model("notifications", "OptOut")
    for opt_out in OptOut.objects.all():
        key = one_spelling(opt_out.address)
        if key != opt_out.address:
            if OptOut.objects.filter(address=key).exists():
                opt_out.delete()
            else:
                opt_out.address = key
                opt_out.save(update_fields=["address"])


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_claims_and_attempts")]

    operations = [migrations.RunPython(respell, migrations.RunPython.noop)]
