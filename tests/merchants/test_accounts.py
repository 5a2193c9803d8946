"""Login, logout and password reset, through the outbox."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_login_with_email_and_logout(client, owner, password):
    response = client.post(reverse("login"), {"username": owner.email, "password": password})

    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("home")).url == reverse("dashboard")
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_wrong_password_is_refused_with_a_message(client, owner):
    response = client.post(reverse("login"), {"username": owner.email, "password": "nope"})

    assert response.status_code == 200
    assert "enter a correct username and password" in response.content.decode()


def test_password_reset_goes_through_the_outbox_and_works(client, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": owner.email})

    assert response.status_code == 302
    assert Notification.objects.get().template == "password_reset"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": "brand-new-pass-77", "new_password2": "brand-new-pass-77"}
    )
    assert response.status_code == 302
    assert client.login(username=owner.email, password="brand-new-pass-77")


def test_password_reset_for_an_unknown_email_says_nothing_and_sends_nothing(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@shop.example"})

    assert response.status_code == 302
    assert not Notification.objects.exists()
