"""Task delivery through a real broker and worker: nobody calls the task by hand."""

import pytest
from django.core import mail
from django.urls import reverse

from notifications.models import Notification
from tests.conftest import wait_for


@pytest.mark.broker
def test_a_real_worker_sends_the_signup_confirmation(client, celery_worker):
    response = client.post(
        reverse("signup"),
        {
            "business_name": "Queue Quilts",
            "owner_name": "Kim Lo",
            "email": "kim@quilts.example",
            "password": "through-redis-2026",
            "password_again": "through-redis-2026",
        },
    )

    assert response.status_code == 302

    def sent():
        """the confirmation email is marked sent"""
        return Notification.objects.filter(template="merchant_confirm_email", status=Notification.Status.SENT).exists()

    wait_for(sent)
    assert [m.to for m in mail.outbox] == [["kim@quilts.example"]]
