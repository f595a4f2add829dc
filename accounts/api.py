"""
The account's part of the JSON API: who is signed in, and their addresses.

A ninja Router that the shop's API mounts under /api/v1/account with its
authentication (Bearer token or session), so `request.user` is the caller.
"""

from ninja import Field, Path, Router, Schema, Status

from config.problems import AUTH, READ, Problem, form_problem

from . import selectors, services
from .forms import AddressForm
from .models import Address

router = Router(tags=["account"])

ID_MAX = 2**63 - 1


class MeOut(Schema):
    email: str
    name: str
    is_staff: bool
    groups: list[str]


class AddressFieldsIn(Schema):
    """A postal address as a client sends it (checkout and saved addresses)."""

    full_name: str
    phone: str = ""
    address_line1: str
    address_line2: str = ""
    city: str
    postcode: str
    country: str = Field(
        "GB", description="ISO 3166 code of a country the shop delivers to."
    )


class AddressIn(AddressFieldsIn):
    label: str = ""
    is_default: bool = False


class AddressOut(Schema):
    id: int
    label: str
    full_name: str
    phone: str
    address_line1: str
    address_line2: str
    city: str
    postcode: str
    country: str
    is_default: bool
    address_lines: list[str]


def _address_out(address: Address) -> AddressOut:
    return AddressOut(
        id=address.pk,
        label=address.label,
        is_default=address.is_default,
        address_lines=address.address_lines,
        **address.address_fields(),
    )


def _address_data(payload: AddressIn) -> dict:
    """The payload validated by the address pages' own form."""
    data = payload.model_dump()
    form = AddressForm({**data, "make_default": data.pop("is_default")})
    if not form.is_valid():
        raise form_problem(form)
    return form.cleaned_data


def _own_address(request, address_id: int) -> Address:
    # Another customer's address is simply not found.
    address = Address.objects.filter(pk=address_id, user=request.user).first()
    if address is None:
        raise Problem("not-found", "No such address.")
    return address


@router.get("/me", response={200: MeOut, **AUTH}, summary="The signed-in customer")
def me(request):
    user = request.user
    return MeOut(
        email=user.email,
        name=user.name,
        is_staff=user.is_staff,
        groups=sorted(user.groups.values_list("name", flat=True)),
    )


@router.get(
    "/addresses",
    response={200: list[AddressOut], **AUTH},
    summary="Saved addresses, the default first",
)
def address_list(request):
    return [_address_out(a) for a in selectors.address_list(user=request.user)]


@router.post(
    "/addresses",
    response={201: AddressOut, **READ, **AUTH},
    summary="Save an address (the first one becomes the default)",
)
def address_create(request, payload: AddressIn):
    data = _address_data(payload)
    address = services.address_save(
        user=request.user, data=data, is_default=data["make_default"]
    )
    return Status(201, _address_out(address))


@router.put(
    "/addresses/{address_id}",
    response={200: AddressOut, **READ, **AUTH},
    summary="Replace an address",
)
def address_update(
    request, payload: AddressIn, address_id: int = Path(..., ge=1, le=ID_MAX)
):
    address = _own_address(request, address_id)
    data = _address_data(payload)
    address = services.address_save(
        user=request.user, data=data, address=address, is_default=data["make_default"]
    )
    return _address_out(address)


@router.delete(
    "/addresses/{address_id}",
    response={204: None, **READ, **AUTH},
    summary="Delete an address (another becomes the default)",
)
def address_delete(request, address_id: int = Path(..., ge=1, le=ID_MAX)):
    services.address_delete(address=_own_address(request, address_id))
    return Status(204, None)
