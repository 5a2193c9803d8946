# pickups 0001..0011 squashed, for new databases: the models as they stand, each table made once with its
# constraints and indexes (the migrations one by one rebuilt tables on SQLite for each field and constraint they
# added, about 1.5 s of a fresh `migrate` with the other apps'). A database that has applied some of them goes on
# with the originals, which stay until every database has applied them all. Their data steps (RunPython) have
# nothing to do here: the tables are new and empty.

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [('pickups', '0001_initial'), ('pickups', '0002_order_import'), ('pickups', '0003_pickup_windows'), ('pickups', '0004_delivery_quotes'), ('pickups', '0005_import_started_at'), ('pickups', '0006_window_lifecycle'), ('pickups', '0007_delivery_attempts'), ('pickups', '0008_order_promised_date'), ('pickups', '0009_order_event_hash_chain'), ('pickups', '0010_order_event_one_successor'), ('pickups', '0011_bulk_actions')]

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('deliveries', '0001_initial'),
        ('merchants', '0007_apikey_kind_allowed_origins'),
    ]

    operations = [
        migrations.CreateModel(
            name='PickupWindow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('local_date', models.DateField(help_text="The site's local day.")),
                ('starts_at', models.DateTimeField()),
                ('ends_at', models.DateTimeField()),
                ('capacity_packages', models.PositiveSmallIntegerField()),
                ('booked_packages', models.PositiveSmallIntegerField(default=0)),
                ('status', models.CharField(choices=[('open', 'Open'), ('offered', 'Offered to drivers'), ('accepted', 'Driver assigned'), ('in_progress', 'Driver on site'), ('completed', 'Completed'), ('missed', 'Missed'), ('cancelled', 'Cancelled')], default='open', max_length=12)),
                ('driver_name', models.CharField(blank=True, max_length=150, verbose_name="driver's first name")),
                ('driver_vehicle', models.CharField(blank=True, help_text='e.g. Silver sedan (Car)', max_length=150)),
                ('accepted_at', models.DateTimeField(blank=True, null=True)),
                ('arrived_at', models.DateTimeField(blank=True, null=True)),
                ('completed_at', models.DateTimeField(blank=True, null=True)),
                ('at_risk', models.BooleanField(default=False, help_text='Nobody accepted shortly before the start.')),
                ('offer_wave', models.PositiveSmallIntegerField(default=0)),
                ('next_wave_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('driver', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='windows', to='deliveries.driver')),
                ('site', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='pickup_windows', to='merchants.site')),
            ],
            options={
                'ordering': ['starts_at', 'site'],
                'indexes': [models.Index(fields=['status', 'starts_at'], name='pickups_pic_status_44ffe2_idx')],
                'constraints': [models.UniqueConstraint(fields=('site', 'starts_at'), name='pickup_window_unique_start_per_site'), models.CheckConstraint(condition=models.Q(('ends_at__gt', models.F('starts_at'))), name='pickup_window_ends_after_start'), models.CheckConstraint(condition=models.Q(('booked_packages__lte', models.F('capacity_packages'))), name='pickup_window_within_capacity'), models.CheckConstraint(condition=models.Q(('status__in', ['open', 'offered', 'accepted', 'in_progress', 'completed', 'missed', 'cancelled'])), name='pickup_window_status_valid')],
            },
        ),
        migrations.CreateModel(
            name='Quote',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('service_level', models.CharField(choices=[('same_day', 'Same day'), ('two_day', 'Two day')], max_length=10)),
                ('postal_code', models.CharField(max_length=10)),
                ('distance_miles', models.DecimalField(decimal_places=1, max_digits=6, null=True)),
                ('eligible', models.BooleanField()),
                ('reason', models.CharField(blank=True, max_length=300)),
                ('promised_date', models.DateField(help_text="Delivery day in the customer's local calendar.", null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('expires_at', models.DateTimeField()),
                ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='quotes', to='merchants.merchant')),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='quotes', to='merchants.store')),
                ('window', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='pickups.pickupwindow')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='Order',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('external_id', models.CharField(help_text='Your own reference; unique across your orders.', max_length=64, verbose_name='your order number')),
                ('service_level', models.CharField(choices=[('same_day', 'Same day'), ('two_day', 'Two day')], default='same_day', max_length=10)),
                ('status', models.CharField(choices=[('created', 'Created'), ('ready', 'Ready for pickup'), ('scheduled', 'Scheduled'), ('picked_up', 'Picked up'), ('delivered', 'Delivered'), ('delivery_failed', 'Delivery failed'), ('returned', 'Returned to store'), ('collected', 'Collected in store'), ('cancelled', 'Cancelled')], default='created', max_length=16)),
                ('tracking_code', models.CharField(editable=False, max_length=16, unique=True)),
                ('customer_name', models.CharField(max_length=200)),
                ('customer_phone', models.CharField(max_length=30)),
                ('customer_email', models.EmailField(blank=True, max_length=254)),
                ('address_line1', models.CharField(max_length=200, verbose_name='address')),
                ('address_line2', models.CharField(blank=True, max_length=200, verbose_name='address line 2')),
                ('city', models.CharField(max_length=100)),
                ('state', models.CharField(max_length=2)),
                ('postal_code', models.CharField(max_length=10, verbose_name='ZIP code')),
                ('latitude', models.DecimalField(decimal_places=6, max_digits=9)),
                ('longitude', models.DecimalField(decimal_places=6, max_digits=9)),
                ('distance_miles', models.DecimalField(decimal_places=1, help_text="Straight-line miles from the store's site.", max_digits=5)),
                ('notes', models.TextField(blank=True)),
                ('ready_at', models.DateTimeField(blank=True, null=True)),
                ('not_scheduled_reason', models.CharField(blank=True, help_text='Why a ready order has no pickup window yet.', max_length=300)),
                ('cancelled_at', models.DateTimeField(blank=True, null=True)),
                ('cancel_reason', models.CharField(blank=True, max_length=300)),
                ('promised_date', models.DateField(blank=True, help_text='The day the customer was promised, set when the order is scheduled.', null=True)),
                ('attempt', models.PositiveSmallIntegerField(default=1, help_text='2 once a failed delivery came back and the order went out again.', verbose_name='delivery attempt')),
                ('return_overdue', models.BooleanField(default=False, help_text='Its delivery failed and it was not back at the store by closing time.')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='merchants.merchant')),
                ('store', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='merchants.store')),
                ('pickup_window', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='orders', to='pickups.pickupwindow')),
                ('quote', models.ForeignKey(blank=True, help_text='The delivery promise shown at checkout, honoured when the order is scheduled.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='orders', to='pickups.quote')),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['merchant', 'status'], name='pickups_ord_merchan_881b46_idx'), models.Index(fields=['merchant', '-created_at'], name='pickups_ord_merchan_adc536_idx')],
                'constraints': [models.UniqueConstraint(fields=('merchant', 'external_id'), name='order_external_id_unique_per_merchant'), models.CheckConstraint(condition=models.Q(('status__in', ['created', 'ready', 'scheduled', 'picked_up', 'delivered', 'delivery_failed', 'returned', 'collected', 'cancelled'])), name='order_status_valid'), models.CheckConstraint(condition=models.Q(('service_level__in', ['same_day', 'two_day'])), name='order_service_level_valid')],
            },
        ),
        migrations.CreateModel(
            name='WindowEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('occurred_at', models.DateTimeField()),
                ('actor_label', models.CharField(max_length=200)),
                ('from_status', models.CharField(max_length=12)),
                ('to_status', models.CharField(max_length=12)),
                ('reason', models.CharField(blank=True, max_length=300)),
                ('details', models.JSONField(blank=True, default=dict)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('window', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='events', to='pickups.pickupwindow')),
            ],
            options={
                'ordering': ['occurred_at', 'id'],
            },
        ),
        migrations.CreateModel(
            name='BulkAction',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('ready', 'Flag ready for pickup'), ('labels', 'Print labels')], max_length=10)),
                ('status', models.CharField(choices=[('queued', 'Waiting for a worker'), ('running', 'Working'), ('done', 'Done'), ('failed', 'Stopped')], default='queued', max_length=10)),
                ('query', models.TextField(blank=True, help_text="The order list's filters it was started from (a query string).")),
                ('order_ids', models.JSONField(default=list, help_text="The orders it works on, in the list's order.")),
                ('total', models.PositiveIntegerField(default=0)),
                ('done_count', models.PositiveIntegerField(default=0, help_text='Orders gone through so far.')),
                ('changed_count', models.PositiveIntegerField(default=0, help_text='Orders flagged ready, or labels drawn.')),
                ('refused', models.JSONField(blank=True, default=dict, help_text='{order status: orders left as they were}.')),
                ('error', models.CharField(blank=True, help_text="Why it stopped, in the merchant's words.", max_length=500)),
                ('labels_file', models.CharField(blank=True, help_text='The labels PDF, in the default storage.', max_length=255)),
                ('resumes', models.PositiveSmallIntegerField(default=0, help_text='Times the sweep queued it again.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now, help_text='Its last progress (or queueing), for the sweep.')),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='bulk_actions', to='merchants.merchant')),
            ],
            options={
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['status', 'updated_at'], name='pickups_bul_status_6db130_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'done', 'failed'])), name='bulk_action_status_valid'), models.CheckConstraint(condition=models.Q(('kind__in', ['ready', 'labels'])), name='bulk_action_kind_valid'), models.CheckConstraint(condition=models.Q(('done_count__lte', models.F('total'))), name='bulk_action_done_within_total')],
            },
        ),
        migrations.CreateModel(
            name='OrderEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('type', models.CharField(help_text='e.g. order.created, order.ready, order.picked_up', max_length=40)),
                ('occurred_at', models.DateTimeField(db_index=True)),
                ('actor_label', models.CharField(help_text='Who did it, kept even if the login is removed.', max_length=200)),
                ('from_status', models.CharField(blank=True, max_length=16)),
                ('to_status', models.CharField(blank=True, max_length=16)),
                ('latitude', models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True)),
                ('longitude', models.DecimalField(blank=True, decimal_places=6, max_digits=9, null=True)),
                ('details', models.JSONField(blank=True, default=dict)),
                ('prev_hash', models.CharField(blank=True, editable=False, help_text="The seal of the order's previous event; empty first.", max_length=64)),
                ('hash', models.CharField(editable=False, help_text="SHA-256 of this event's content and the previous seal.", max_length=64)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('order', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='events', to='pickups.order')),
            ],
            options={
                'ordering': ['occurred_at', 'id'],
                'constraints': [models.UniqueConstraint(fields=('order', 'prev_hash'), name='order_event_one_successor')],
            },
        ),
        migrations.CreateModel(
            name='OrderImport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('filename', models.CharField(max_length=255)),
                ('content', models.TextField(help_text='The uploaded CSV, decoded.')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Checking rows'), ('succeeded', 'Imported'), ('failed', 'Not imported')], default='queued', max_length=10)),
                ('total_rows', models.PositiveIntegerField(default=0)),
                ('checked_rows', models.PositiveIntegerField(default=0)),
                ('created_count', models.PositiveIntegerField(default=0)),
                ('errors', models.JSONField(blank=True, default=list, help_text='[{row, column, message}], row 2 is the first order.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='order_imports', to='merchants.merchant')),
            ],
            options={
                'ordering': ['-created_at'],
                'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'succeeded', 'failed'])), name='order_import_status_valid')],
            },
        ),
        migrations.CreateModel(
            name='Package',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sequence', models.PositiveSmallIntegerField(help_text='1 for the first package of the order, and so on.')),
                ('label_code', models.CharField(editable=False, max_length=24, unique=True)),
                ('weight_lb', models.DecimalField(decimal_places=2, max_digits=5, validators=[django.core.validators.MinValueValidator(Decimal('0.01')), django.core.validators.MaxValueValidator(50)], verbose_name='weight (lb)')),
                ('length_in', models.DecimalField(blank=True, decimal_places=1, max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0.1')), django.core.validators.MaxValueValidator(48)], verbose_name='length (in)')),
                ('width_in', models.DecimalField(blank=True, decimal_places=1, max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0.1')), django.core.validators.MaxValueValidator(48)], verbose_name='width (in)')),
                ('height_in', models.DecimalField(blank=True, decimal_places=1, max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0.1')), django.core.validators.MaxValueValidator(48)], verbose_name='height (in)')),
                ('collected_at', models.DateTimeField(blank=True, help_text='When the driver scanned it at the counter, before the order is picked up.', null=True)),
                ('returned_at', models.DateTimeField(blank=True, help_text='When the store scanned it back after a failed delivery.', null=True)),
                ('order', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='packages', to='pickups.order')),
            ],
            options={
                'ordering': ['order', 'sequence'],
                'constraints': [models.UniqueConstraint(fields=('order', 'sequence'), name='package_sequence_unique_per_order'), models.CheckConstraint(condition=models.Q(('weight_lb__gt', 0), ('weight_lb__lte', 50)), name='package_weight_in_limits')],
            },
        ),
    ]
