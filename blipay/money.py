"""Money as people read it. Amounts are integer rupiah everywhere; this is how they are shown."""


def rupiah(amount: int, *, signed: bool = False) -> str:
    """``100000`` → ``"Rp 100.000"``, Indonesian style (``.`` groups thousands);
    ``signed`` shows the sign of a movement: ``"Rp +100.000"``, ``"Rp -30.000"``."""
    return (f"Rp {amount:+,}" if signed else f"Rp {amount:,}").replace(",", ".")
