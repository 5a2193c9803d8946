from django.urls import path

from . import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("signup/confirm/", views.email_confirmation, name="email_confirmation"),
    path("signup/confirm/<str:token>/", views.email_confirm, name="email_confirm"),
    path("stores/", views.store_list, name="store_list"),
    path("stores/new/", views.store_create, name="store_create"),
    path("stores/<int:pk>/edit/", views.store_edit, name="store_edit"),
    path("team/", views.team, name="team"),
    path("team/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
