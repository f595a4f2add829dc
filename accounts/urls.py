from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("login/local/", views.local_login, name="local_login"),
    path("logout/", views.logout, name="logout"),
    path("signup/", views.signup, name="signup"),
    path("confirm/", views.confirm, name="confirm"),
    path("confirm/resend/", views.resend, name="resend"),
    path("password/forgot/", views.forgot_password, name="forgot_password"),
    path("password/reset/", views.reset_password, name="reset_password"),
    path("password/change/", views.change_password, name="change_password"),
    path("hosted/", views.hosted_start, name="hosted_start"),
    path("hosted/callback/", views.hosted_callback, name="hosted_callback"),
    path("", views.profile, name="profile"),
    # The name the site header links to.
    path("", views.profile, name="account"),
    path("addresses/", views.addresses, name="addresses"),
    path("addresses/<int:pk>/", views.address_edit, name="address_edit"),
    path("addresses/<int:pk>/delete/", views.address_delete, name="address_delete"),
    path("api/me", views.api_me, name="api_me"),
]
