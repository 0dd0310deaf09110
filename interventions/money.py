"""Rupiah amounts in words and figures (pure; money is always integer rupiah)."""


def format_rupiah(amount: int) -> str:
    """``1200000`` -> ``"Rp 1.200.000"``: dot thousands separators, no decimals.

    The Indonesian way of writing rupiah, used in both languages of the UI so that figures read
    the same in every explanation. Negative amounts keep their sign: ``"-Rp 5.000"``.
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"format_rupiah needs a whole number of rupiah, got {amount!r}")
    sign = "-" if amount < 0 else ""
    return f"{sign}Rp {abs(amount):,}".replace(",", ".")
