"""Money and quantities on the wire (pydantic): decimal strings in, plain decimal strings out.
The arithmetic is in shared/domain/money.py."""

from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

from shared.domain.money import plain


def _refuse_float(value: object) -> object:
    # A JSON number with a fraction arrives as a binary float and may already be inexact.
    if isinstance(value, float):
        raise ValueError('send decimals as strings (for example "0.1450"), not JSON numbers')
    return value


# Money and quantities on the wire: a decimal string or an integer, never a float. NOT_FLOAT
# goes after a Decimal's own constraints (gt, max_digits), which pydantic-core then checks itself.
NOT_FLOAT = BeforeValidator(_refuse_float)
DecimalInput = Annotated[Decimal, NOT_FLOAT]


# Money and quantities going out (events, HTTP responses): always a plain decimal string.
Amount = Annotated[Decimal, PlainSerializer(plain, return_type=str, when_used="json")]
