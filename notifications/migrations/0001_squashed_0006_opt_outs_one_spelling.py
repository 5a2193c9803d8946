# notifications 0001..0006 squashed, for new databases: the models as they stand, each table made once with its
# constraints and indexes (the migrations one by one rebuilt tables on SQLite for each field and constraint they
# added, about 1.5 s of a fresh `migrate` with the other apps'). A database that has applied some of them goes on
# with the originals, which stay until every database has applied them all. Their data steps (RunPython) have
# nothing to do here: the tables are new and empty.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    replaces = [('notifications', '0001_initial'), ('notifications', '0002_sms_and_in_app_channels'), ('notifications', '0003_secret_messages'), ('notifications', '0004_customer_opt_out'), ('notifications', '0005_claims_and_attempts'), ('notifications', '0006_opt_outs_one_spelling')]

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='OptOut',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('address', models.CharField(max_length=254, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'verbose_name': 'customer opt-out',
            },
        ),
        migrations.CreateModel(
            name='Notification',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('channel', models.CharField(choices=[('email', 'Email'), ('sms', 'Text message'), ('in_app', 'In the app')], default='email', max_length=10)),
                ('recipient', models.CharField(help_text='Email address or phone number.', max_length=254)),
                ('template', models.CharField(help_text='Which message this is, e.g. merchant_approved.', max_length=100)),
                ('subject', models.CharField(blank=True, max_length=200)),
                ('body', models.TextField()),
                ('secret', models.BooleanField(default=False, help_text='Holds a one-time link: hidden in the admin and erased once sent.')),
                ('to_customer', models.BooleanField(default=False, help_text="A parcel update for a shop's customer: never sent once they opted out.")),
                ('status', models.CharField(choices=[('pending', 'Pending'), ('sent', 'Sent'), ('failed', 'Failed'), ('skipped', 'Not sent: the customer opted out')], default='pending', max_length=10)),
                ('attempts', models.PositiveSmallIntegerField(default=0)),
                ('last_error', models.TextField(blank=True)),
                ('next_attempt_at', models.DateTimeField(help_text='When the sweep tries again if it is still pending.')),
                ('claimed_until', models.DateTimeField(blank=True, help_text='A worker is sending it; if that worker died, it can be claimed after this.', null=True)),
                ('sent_at', models.DateTimeField(blank=True, null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='notifications', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at'],
                'indexes': [models.Index(fields=['status', 'next_attempt_at'], name='notificatio_status_444bb6_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'sent', 'failed', 'skipped'])), name='notification_status_valid'), models.CheckConstraint(condition=models.Q(('channel__in', ['email', 'sms', 'in_app'])), name='notification_channel_valid')],
            },
        ),
        migrations.CreateModel(
            name='Attempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField()),
                ('duration_ms', models.PositiveIntegerField()),
                ('succeeded', models.BooleanField()),
                ('status_code', models.PositiveSmallIntegerField(blank=True, help_text='The HTTP status, if any.', null=True)),
                ('error', models.CharField(blank=True, max_length=500)),
                ('response_excerpt', models.CharField(blank=True, max_length=500)),
                ('notification', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempt_log', to='notifications.notification')),
            ],
            options={
                'ordering': ['started_at', 'id'],
                'abstract': False,
            },
        ),
    ]
