"""Procurement categories, read from a data file so a trust can add its own without code changes.

The file is `categories.csv` beside this module; `PROCURE_CATEGORIES_FILE` points at another.
"""

import csv
import os
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

DEFAULT_FILE = Path(__file__).with_name("categories.csv")


@dataclass(frozen=True)
class Category:
    """One row of the categories file: the unit its quantities are in, its CPV code, the VAT
    rate on its estimated value, and whether the light-touch regime applies to it."""

    code: str
    name: str
    unit: str
    cpv: str
    vat_rate: Decimal
    light_touch: bool


def parse_categories(path: Path) -> dict[str, Category]:
    with path.open(newline="", encoding="utf-8") as f:
        return {
            row["category"]: Category(
                code=row["category"],
                name=row["name"],
                unit=row["unit"],
                cpv=row["cpv"],
                vat_rate=Decimal(row["vat_rate"]),
                light_touch=row["light_touch"].strip().lower() == "true",
            )
            for row in csv.DictReader(f)
        }


@cache
def categories() -> dict[str, Category]:
    return parse_categories(Path(os.environ.get("PROCURE_CATEGORIES_FILE", DEFAULT_FILE)))
