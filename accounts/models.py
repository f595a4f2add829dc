from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        if password:
            user.set_password(password)
        else:
            # Cognito owns the password; Django never stores a hash for it.
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        """A break-glass account that signs in with a local password."""
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A shopper or staff member; the email address is the login identifier."""

    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    cognito_sub = models.CharField(
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text="The subject identifier of the user's Cognito account.",
    )
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    tokens_revoked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Tokens issued before this time are refused (sign-out, demotion).",
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["email"]

    def tokens_revoke(self) -> None:
        """Mark every token and session issued until now revoked (unsaved)."""
        # Whole seconds, as a token's `iat`: a sign-in in the same second
        # as a sign-out keeps its tokens.
        self.tokens_revoked_at = timezone.now().replace(microsecond=0)

    def tokens_revoked(self, *, issued_at: float) -> bool:
        """Whether a token or session issued at `issued_at` (epoch) is revoked."""
        mark = self.tokens_revoked_at
        return mark is not None and issued_at < mark.timestamp()

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return self.name.split(" ")[0] if self.name else self.email


# The countries the shop delivers to: checkout, saved addresses and orders.
COUNTRIES = [
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("NL", "Netherlands"),
    ("ES", "Spain"),
    ("US", "United States"),
]
COUNTRY_NAMES = dict(COUNTRIES)


class AbstractAddress(models.Model):
    """
    A postal address: the fields that checkout asks for, a saved address
    keeps and an order snapshots, and the one way they are written out.
    """

    full_name = models.CharField(max_length=150)
    phone = models.CharField(max_length=40, blank=True)
    address_line1 = models.CharField("address", max_length=200)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    city = models.CharField("town or city", max_length=100)
    postcode = models.CharField(max_length=20)
    country = models.CharField(max_length=2, default="GB")

    FIELDS = [
        "full_name",
        "phone",
        "address_line1",
        "address_line2",
        "city",
        "postcode",
        "country",
    ]

    class Meta:
        abstract = True

    @property
    def country_name(self) -> str:
        return COUNTRY_NAMES.get(self.country, self.country)

    @property
    def address_lines(self) -> list[str]:
        """The address as it is written on a parcel, one line each."""
        lines = [
            self.full_name,
            self.address_line1,
            self.address_line2,
            f"{self.city} {self.postcode}".strip(),
            self.country_name,
        ]
        return [line for line in lines if line]

    def address_fields(self) -> dict:
        """The address's own values, e.g. to prefill checkout."""
        return {name: getattr(self, name) for name in self.FIELDS}


class Address(AbstractAddress):
    """A saved delivery address; the default one prefills checkout."""

    user = models.ForeignKey(User, related_name="addresses", on_delete=models.CASCADE)
    label = models.CharField(max_length=40, blank=True, help_text="e.g. Home, Work")
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "-created_at", "-id"]
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(is_default=True),
                name="address_one_default_per_user",
            )
        ]

    def __str__(self):
        return f"{self.full_name}, {self.address_line1}, {self.city}"
