"""Bounds every app's validation shares, so no value reaches the database that it cannot hold
or sum."""

from datetime import date

#: The largest id a bigint primary key holds.
ID_MAX = 2**63 - 1

#: The largest rupiah amount accepted anywhere: Rp 100 trillion, several times Banten's yearly
#: budget. Totals of many such amounts (budgets reserved, deliveries of a referral) still fit
#: the database's 64-bit integers; amounts up to 2**63 - 1 made those sums overflow.
RUPIAH_MAX = 100_000_000_000_000

#: The earliest date a date filter takes: a date at midnight in Jakarta before year 1 in UTC
#: cannot be stored as a time, and nothing in the register is that old.
EARLIEST_DATE = date(1900, 1, 1)
