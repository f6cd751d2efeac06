"""Project exceptions. Each message says what is wrong and where, in one line."""


def shown(value: object, limit: int = 80) -> str:
    """``value`` as a one-line message shows it: its repr, cut after ``limit`` characters with the
    length said (a 10 MB cell in an error line is no longer one clear line)."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    return repr(value)


class HepatrialError(Exception):
    """Base class: an error the user can act on (printed as one line, no traceback).

    ``details``: more lines for the step's log (not printed), e.g. every other fatal finding
    that the one-line message counts."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.details: list[str] = []


class HepatrialWarning(UserWarning):
    """Something the user should know that does not stop the step (e.g. a character no bundled
    font can draw): :func:`hepatrial.cli.run_step` writes it as a ``WARNING:`` line to stderr and
    to the step's log."""


class DataContractError(HepatrialError):
    """Input data break the data contract (docs/data_contract.md).

    The message names the file, the source row number (1-based, header excluded) and the column.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ):
        where = []
        if file is not None:
            where.append(f"file {file}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)
        self.file, self.row, self.column = file, row, column


class ConfigError(HepatrialError):
    """The study config is invalid (names the key and what is expected)."""


class ConvergenceError(HepatrialError):
    """A model did not converge under any of the pre-specified settings."""
