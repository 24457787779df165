"""The one exception every reader and writer in this package raises."""


class X12Error(ValueError):
    """A document that cannot be read or written as valid X12.

    Messages name segments and positions, never element values, so they are
    safe to log: values may carry patient data.
    """

    def __init__(
        self,
        message: str,
        segment_id: str | None = None,
        position: int | None = None,
        transaction_control_number: str | None = None,
    ):
        super().__init__(message)
        self.segment_id = segment_id
        self.position = position  # segment position within its transaction set (ST = 1)
        self.transaction_control_number = transaction_control_number  # ST02 of that set
