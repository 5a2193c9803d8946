# merchants 0001..0007 squashed, for new databases: the models as they stand, each table made once with its
# constraints and indexes (the migrations one by one rebuilt tables on SQLite for each field and constraint they
# added, about 1.5 s of a fresh `migrate` with the other apps'). A database that has applied some of them goes on
# with the originals, which stay until every database has applied them all. Their data steps (RunPython) have
# nothing to do here: the tables are new and empty.

import common.timezones
import datetime
import django.core.serializers.json
import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import merchants.handoff_codes
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [('merchants', '0001_initial'), ('merchants', '0002_apikey_idempotencykey'), ('merchants', '0003_site_window_settings'), ('merchants', '0004_store_handoff_code'), ('merchants', '0005_store_notify_customers'), ('merchants', '0006_merchant_email_confirmed_at'), ('merchants', '0007_apikey_kind_allowed_origins')]

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Merchant',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('legal_name', models.CharField(max_length=200)),
                ('display_name', models.CharField(max_length=200)),
                ('contact_name', models.CharField(max_length=200)),
                ('contact_email', models.EmailField(max_length=254)),
                ('contact_phone', models.CharField(blank=True, max_length=30)),
                ('status', models.CharField(choices=[('pending', 'Pending approval'), ('approved', 'Approved'), ('suspended', 'Suspended')], default='pending', max_length=10)),
                ('status_reason', models.CharField(blank=True, help_text='Shown to the merchant when suspended.', max_length=300)),
                ('approved_at', models.DateTimeField(blank=True, null=True)),
                ('suspended_at', models.DateTimeField(blank=True, null=True)),
                ('email_confirmed_at', models.DateTimeField(blank=True, default=django.utils.timezone.now, help_text='When the owner confirmed the email.', null=True, verbose_name='email confirmed')),
            ],
            options={
                'ordering': ['display_name'],
                'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'approved', 'suspended'])), name='merchant_status_valid')],
            },
        ),
        migrations.CreateModel(
            name='Invitation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('email', models.EmailField(max_length=254)),
                ('role', models.CharField(choices=[('owner', 'Owner'), ('staff', 'Staff')], default='staff', max_length=10)),
                ('token_hash', models.CharField(max_length=64, unique=True)),
                ('expires_at', models.DateTimeField()),
                ('accepted_at', models.DateTimeField(blank=True, null=True)),
                ('invited_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='invitations', to='merchants.merchant')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='Site',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('name', models.CharField(max_length=200)),
                ('kind', models.CharField(choices=[('mall', 'Mall'), ('standalone', 'Standalone store')], default='mall', max_length=12)),
                ('address_line1', models.CharField(max_length=200, verbose_name='address')),
                ('address_line2', models.CharField(blank=True, max_length=200, verbose_name='address line 2')),
                ('city', models.CharField(max_length=100)),
                ('state', models.CharField(help_text='Two-letter state code, e.g. AZ.', max_length=2)),
                ('postal_code', models.CharField(max_length=10, verbose_name='ZIP code')),
                ('latitude', models.DecimalField(decimal_places=6, max_digits=9, validators=[django.core.validators.MinValueValidator(-90), django.core.validators.MaxValueValidator(90)])),
                ('longitude', models.DecimalField(decimal_places=6, max_digits=9, validators=[django.core.validators.MinValueValidator(-180), django.core.validators.MaxValueValidator(180)])),
                ('timezone', models.CharField(help_text='IANA name, e.g. America/Phoenix.', max_length=64, validators=[common.timezones.validate_timezone])),
                ('window_minutes', models.PositiveSmallIntegerField(default=120, validators=[django.core.validators.MinValueValidator(30), django.core.validators.MaxValueValidator(480)], verbose_name='window length (minutes)')),
                ('window_spacing_minutes', models.PositiveSmallIntegerField(default=120, validators=[django.core.validators.MinValueValidator(30), django.core.validators.MaxValueValidator(480)], verbose_name='a window starts every (minutes)')),
                ('window_capacity_packages', models.PositiveSmallIntegerField(default=60, validators=[django.core.validators.MinValueValidator(1)], verbose_name='packages per window')),
            ],
            options={
                'ordering': ['name'],
                'constraints': [models.CheckConstraint(condition=models.Q(('kind__in', ['mall', 'standalone'])), name='site_kind_valid')],
            },
        ),
        migrations.CreateModel(
            name='Store',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('name', models.CharField(max_length=200)),
                ('unit', models.CharField(blank=True, max_length=50, verbose_name='unit or suite')),
                ('phone', models.CharField(blank=True, max_length=30)),
                ('service_radius_miles', models.DecimalField(decimal_places=1, default=Decimal('10.0'), max_digits=4, validators=[django.core.validators.MinValueValidator(Decimal('0.5')), django.core.validators.MaxValueValidator(Decimal('50'))], verbose_name='delivery radius (miles)')),
                ('same_day_cutoff', models.TimeField(default=datetime.time(14, 0), help_text='Orders ready after this local time go out the next open day.', verbose_name='same-day cutoff')),
                ('pickup_instructions', models.TextField(blank=True, help_text='Where drivers find you, e.g. the back door.')),
                ('notify_customers', models.BooleanField(default=True, help_text="A text (or email) in your store's name when an order is scheduled, on its way, delivered or not.", verbose_name='send customers parcel updates')),
                ('text_on_arrival', models.BooleanField(default=False, verbose_name='text the store phone when a driver arrives')),
                ('is_active', models.BooleanField(default=True)),
                ('handoff_secret', models.CharField(default=merchants.handoff_codes.new_handoff_secret, editable=False, max_length=32)),
                ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='stores', to='merchants.merchant')),
                ('site', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='stores', to='merchants.site')),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='Membership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('role', models.CharField(choices=[('owner', 'Owner'), ('staff', 'Staff')], default='staff', max_length=10)),
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='membership', to=settings.AUTH_USER_MODEL)),
                ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='merchants.merchant')),
            ],
            options={
                'ordering': ['role', 'user__email'],
                'constraints': [models.CheckConstraint(condition=models.Q(('role__in', ['owner', 'staff'])), name='membership_role_valid')],
            },
        ),
        migrations.CreateModel(
            name='IdempotencyKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=255)),
                ('request_hash', models.CharField(max_length=64)),
                ('status_code', models.PositiveSmallIntegerField(null=True)),
                ('response_body', models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='merchants.merchant')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('merchant', 'key'), name='idempotency_key_unique_per_merchant')],
            },
        ),
        migrations.CreateModel(
            name='ApiKey',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('kind', models.CharField(choices=[('secret', 'Secret'), ('publishable', 'Publishable')], default='secret', max_length=12)),
                ('name', models.CharField(help_text='What uses it, e.g. “Website checkout”.', max_length=100)),
                ('allowed_origins', models.JSONField(blank=True, default=list, verbose_name='web addresses allowed to use it')),
                ('prefix', models.CharField(help_text="The key's first characters, to recognise it.", max_length=12)),
                ('key_hash', models.CharField(max_length=64, unique=True)),
                ('last_used_at', models.DateTimeField(blank=True, null=True)),
                ('revoked_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to='merchants.merchant')),
            ],
            options={
                'verbose_name': 'API key',
                'ordering': ['-created_at'],
                'constraints': [models.CheckConstraint(condition=models.Q(('kind__in', ['secret', 'publishable'])), name='api_key_kind_valid')],
            },
        ),
        migrations.CreateModel(
            name='OpeningHours',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('weekday', models.PositiveSmallIntegerField(choices=[(0, 'Monday'), (1, 'Tuesday'), (2, 'Wednesday'), (3, 'Thursday'), (4, 'Friday'), (5, 'Saturday'), (6, 'Sunday')])),
                ('opens', models.TimeField()),
                ('closes', models.TimeField()),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='opening_hours', to='merchants.store')),
            ],
            options={
                'verbose_name_plural': 'opening hours',
                'ordering': ['weekday'],
                'constraints': [models.UniqueConstraint(fields=('store', 'weekday'), name='opening_hours_one_per_weekday'), models.CheckConstraint(condition=models.Q(('closes__gt', models.F('opens'))), name='opening_hours_close_after_open'), models.CheckConstraint(condition=models.Q(('weekday__lte', 6)), name='opening_hours_weekday_valid')],
            },
        ),
        migrations.CreateModel(
            name='Closure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('date', models.DateField()),
                ('reason', models.CharField(blank=True, max_length=200)),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='closures', to='merchants.store')),
            ],
            options={
                'ordering': ['date'],
                'constraints': [models.UniqueConstraint(fields=('store', 'date'), name='closure_one_per_day')],
            },
        ),
    ]
