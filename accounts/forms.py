from django import forms

from .models import COUNTRIES

PASSWORD_HELP = (
    "At least 8 characters, with upper and lower case letters, a number and a symbol."
)


class Form(forms.Form):
    """A form whose labels read "Email", not Django's "Email:"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


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


class SignInForm(Form):
    email = _email()
    password = _password()


class SignUpForm(Form):
    email = _email()
    name = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = _password(autocomplete="new-password", help_text=PASSWORD_HELP)


class ConfirmForm(Form):
    email = _email()
    code = _code()


class ResendForm(Form):
    email = _email()


class ForgotPasswordForm(Form):
    email = _email()


class ResetPasswordForm(Form):
    email = _email()
    code = _code()
    password = _password(
        "New password", autocomplete="new-password", help_text=PASSWORD_HELP
    )


class ChangePasswordForm(Form):
    old_password = _password("Current password")
    new_password = _password(
        "New password", autocomplete="new-password", help_text=PASSWORD_HELP
    )


class ProfileForm(Form):
    name = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )


class AddressFields(Form):
    """
    The address fields, as checkout and the saved-address pages ask for
    them, with the browser's autofill hints.
    """

    full_name = forms.CharField(
        label="Full name",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    phone = forms.CharField(
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel"}),
    )
    address_line1 = forms.CharField(
        label="Address",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    address_line2 = forms.CharField(
        label="Address line 2",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    city = forms.CharField(
        label="Town or city",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    postcode = forms.CharField(
        max_length=20, widget=forms.TextInput(attrs={"autocomplete": "postal-code"})
    )
    country = forms.ChoiceField(
        choices=COUNTRIES,
        initial="GB",
        widget=forms.Select(attrs={"autocomplete": "country"}),
    )


class AddressForm(AddressFields):
    """A saved address: the address fields, a label and the default flag."""

    label = forms.CharField(max_length=40, required=False, help_text="e.g. Home, Work")
    make_default = forms.BooleanField(label="Use for checkout", required=False)

    field_order = ["label"]
