"""National Provider Identifier check digit (Luhn over the 80840 prefix)."""


def npi_check_digit(first_nine: str) -> int:
    """The tenth digit that makes `first_nine` a valid NPI."""
    total = 24  # Luhn sum of the card-issuer prefix 80840, constant for every NPI
    for i, char in enumerate(reversed(first_nine)):
        digit = int(char)
        if i % 2 == 0:  # doubled positions, counted from the right of the payload
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return (10 - total % 10) % 10


def npi_is_valid(npi: str) -> bool:
    return len(npi) == 10 and npi.isascii() and npi.isdigit() and npi_check_digit(npi[:9]) == int(npi[9])
