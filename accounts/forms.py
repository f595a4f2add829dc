from django import forms

from shop.forms import CheckoutForm

from .models import Address
from .services import ADDRESS_FIELDS

PASSWORD_HELP = (
    "At least 8 characters, with upper and lower case letters, a number and a symbol."
)


def _password(label="Password", autocomplete="current-password", help_text=""):
    return forms.CharField(
        label=label,
        max_length=256,
        strip=False,
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


def _email():
    return forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


def _code():
    return forms.CharField(
        label="Confirmation code",
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )


class SignInForm(forms.Form):
    email = _email()
    password = _password()


class SignUpForm(forms.Form):
    email = _email()
    name = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = _password(autocomplete="new-password", help_text=PASSWORD_HELP)


class ConfirmForm(forms.Form):
    email = _email()
    code = _code()


class ResendForm(forms.Form):
    email = _email()


class ForgotPasswordForm(forms.Form):
    email = _email()


class ResetPasswordForm(forms.Form):
    email = _email()
    code = _code()
    password = _password(
        "New password", autocomplete="new-password", help_text=PASSWORD_HELP
    )


class ChangePasswordForm(forms.Form):
    old_password = _password("Current password")
    new_password = _password(
        "New password", autocomplete="new-password", help_text=PASSWORD_HELP
    )


class ProfileForm(forms.Form):
    name = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )


class AddressForm(forms.ModelForm):
    country = forms.ChoiceField(
        choices=CheckoutForm.base_fields["country"].choices, initial="GB"
    )
    make_default = forms.BooleanField(label="Use for checkout", required=False)

    class Meta:
        model = Address
        fields = ADDRESS_FIELDS
