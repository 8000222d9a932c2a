"""Phone numbers of generated records: one number per contact, written in the many ways people write them."""

from __future__ import annotations

from .hashing import h


def phone_digits(seed: int, contact_id: int) -> str:
    r = h(seed, "contacts", contact_id, 3)
    if r % 2:
        return "79" + f"{(r >> 8) % 10**9:09d}"
    area = 200 + (r >> 8) % 800
    return "1" + f"{area:03d}" + f"{(r >> 20) % 10**7:07d}"


def format_phone(digits: str, variant: int) -> str:
    if digits.startswith("7"):
        d = digits[1:]
        forms = (
            f"+7 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
            "8" + d,
            digits,
            "+" + digits,
            f"8 ({d[:3]}) {d[3:6]}-{d[6:8]}-{d[8:]}",
            f"+7 {d[:3]} {d[3:6]} {d[6:8]} {d[8:]}",
        )
    else:
        d = digits[1:]
        forms = (
            f"({d[:3]}) {d[3:6]} {d[6:]}",
            f"+1 {d[:3]}-{d[3:6]}-{d[6:]}",
            f"{d[:3]}.{d[3:6]}.{d[6:]}",
            digits,
            "+" + digits,
            f"{d[:3]}-{d[3:6]}-{d[6:]} ext. 12",
        )
    return forms[variant % len(forms)]
