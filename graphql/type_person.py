"""An individual exemplar's personal details, decrypted for roles allowed to read them."""

from __future__ import annotations

import strawberry


@strawberry.type(name="Person", description="Null members and erased = true once the "
                                            "person's data was erased (crypto-shredded).")
class PersonType:
    erased: bool
    full_name: str | None = None
    birth_year: int | None = None
    phone: str | None = None
    address: str | None = None
