"""Refusals of the engine service: a command that is refused here is never journaled."""

from xip_portal.errors import ApplicationError, NotFound


class CommandRefused(ApplicationError):
    """The command's shape, values or target is wrong; `code` names the problem
    (`unknown_field`, `bad_lot`, `market_not_live`, ...)."""

    code = "command_refused"


class MarketUnknown(NotFound):
    code = "unknown_market"


class SpecNotConvertible(ApplicationError):
    """A registry value that is not a whole number of the engine's unit."""

    code = "spec_not_convertible"
