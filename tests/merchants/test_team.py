"""Owners invite staff by email; staff join through the link and cannot manage the team."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from merchants.models import Invitation, Membership
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def invite(client, email, capture):
    with capture(execute=True):
        return client.post(reverse("team"), {"email": email})


def link_in(message):
    return re.search(r"http://testserver(/invitations/\S+/)", message.body).group(1)


def test_an_invited_person_joins_as_staff(owner_client, merchant, client, django_capture_on_commit_callbacks):
    response = invite(owner_client, "Jo@Shop.example", django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert mail.outbox[0].to == ["jo@shop.example"]
    path = link_in(mail.outbox[0])
    owner_client.logout()

    page = client.get(path)
    assert "jo@shop.example" in page.content.decode()
    response = client.post(
        path, {"full_name": "Jo Lee", "password": "pickup-shelf-42", "password_again": "pickup-shelf-42"}
    )

    assert response.status_code == 302
    member = Membership.objects.get(user__email="jo@shop.example")
    assert member.merchant == merchant and member.role == Membership.Role.STAFF
    assert client.get(reverse("dashboard")).status_code == 200
    # the link works once
    assert client.get(path).status_code == 404


def test_the_token_is_stored_only_as_a_hash(owner_client, django_capture_on_commit_callbacks):
    invite(owner_client, "jo@shop.example", django_capture_on_commit_callbacks)

    token = link_in(mail.outbox[0]).strip("/").split("/")[-1]
    invitation = Invitation.objects.get()
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64


def test_an_expired_or_made_up_link_is_not_found(owner_client, client, django_capture_on_commit_callbacks):
    invite(owner_client, "jo@shop.example", django_capture_on_commit_callbacks)
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    assert client.get(link_in(mail.outbox[0])).status_code == 404
    assert client.get(reverse("invitation_accept", args=["made-up"])).status_code == 404


def test_inviting_someone_who_already_has_a_login_names_the_field(owner_client):
    other = MembershipFactory()

    response = owner_client.post(reverse("team"), {"email": other.user.email})

    assert "already has an account" in " ".join(response.context["form"].errors["email"])
    assert not Invitation.objects.exists()


def test_staff_cannot_manage_the_team(client, merchant):
    staff = MembershipFactory(merchant=merchant, role=Membership.Role.STAFF)
    client.force_login(staff.user)

    assert client.get(reverse("team")).status_code == 403
    assert client.post(reverse("team"), {"email": "x@shop.example"}).status_code == 403
    assert "Team" not in client.get(reverse("dashboard")).content.decode().split("<main")[0]


def test_an_owner_removes_staff_and_their_login_stops_working(owner_client, merchant):
    staff = MembershipFactory(merchant=merchant, role=Membership.Role.STAFF)

    response = owner_client.post(reverse("member_remove", args=[staff.pk]))

    assert response.status_code == 302
    staff.user.refresh_from_db()
    assert not staff.user.is_active
    assert not Membership.objects.filter(pk=staff.pk).exists()


def test_owners_cannot_be_removed_here(owner_client, owner):
    response = owner_client.post(reverse("member_remove", args=[owner.membership.pk]), follow=True)

    assert "Owners cannot be removed" in response.content.decode()
    assert Membership.objects.filter(pk=owner.membership.pk).exists()


def test_another_merchants_member_is_not_found(owner_client):
    theirs = MembershipFactory(role=Membership.Role.STAFF)

    assert owner_client.post(reverse("member_remove", args=[theirs.pk])).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()
    assert theirs.user.email not in owner_client.get(reverse("team")).content.decode()


def test_the_team_page_runs_a_constant_number_of_queries(owner_client, merchant, django_assert_max_num_queries):
    def load():
        response = owner_client.get(reverse("team"))
        assert response.status_code == 200
        return len(response.context["members"])

    MembershipFactory.create_batch(2, merchant=merchant, role=Membership.Role.STAFF)
    with django_assert_max_num_queries(6):
        assert load() == 3
    MembershipFactory.create_batch(20, merchant=merchant, role=Membership.Role.STAFF)
    with django_assert_max_num_queries(6):
        assert load() == 23


def test_the_outbox_does_not_keep_the_invitation_link(owner_client, django_capture_on_commit_callbacks):
    from notifications.models import Notification

    invite(owner_client, "jo@shop.example", django_capture_on_commit_callbacks)

    token = link_in(mail.outbox[0]).strip("/").split("/")[-1]
    notification = Notification.objects.get(template="team_invitation")
    assert notification.status == "sent" and token not in notification.body
