"""The working-day calendar: England and Wales bank holidays from a data file.

The file is `bank_holidays.csv` beside this module (gov.uk's list; 2028 by the usual rules,
check it against gov.uk once published); `PROCURE_BANK_HOLIDAYS_FILE` points at another.
"""

import os
from functools import cache
from pathlib import Path

from services.tendering.domain.standstill import WorkingCalendar, parse_bank_holidays

DEFAULT_FILE = Path(__file__).with_name("bank_holidays.csv")


@cache
def working_calendar() -> WorkingCalendar:
    path = Path(os.environ.get("PROCURE_BANK_HOLIDAYS_FILE", DEFAULT_FILE))
    return parse_bank_holidays(path.read_text(encoding="utf-8"))
