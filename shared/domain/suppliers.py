"""How a supplier is named to people: by the trading name it gave with its bid, with its id."""


def supplier_label(supplier_id: str, name: str | None) -> str:
    """ "Volt Energy Ltd (volt-co)" where the bidder gave its name; its id alone otherwise (bids
    and awards from before names were asked for)."""
    return supplier_id if name is None else f"{name} ({supplier_id})"
