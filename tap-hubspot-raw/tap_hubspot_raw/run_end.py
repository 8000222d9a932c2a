"""How a run of the tap ends when it cannot go on: one clear line, no traceback, an exit code that says why.

A fatal HubSpot answer (bad token, missing scope, daily limit, a HubSpot that cannot be reached) already
carries everything a user needs; a traceback through the SDK's request machinery would only bury it. An
interrupted run (SIGINT, SIGTERM) exits with the shell's code for the signal, never 0.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from singer_sdk.exceptions import ConfigValidationError, FatalAPIError

from tap_hubspot_raw.sdk_private import Interrupted


@contextmanager
def ends_with_a_message(logger: logging.Logger) -> Iterator[None]:
    """Turn the run's known ways of ending early into a logged message and an exit code."""
    try:
        yield
    except FatalAPIError as exc:
        logger.error("%s", exc)  # noqa: TRY400 - the message is the whole story
        sys.exit(1)
    except ConfigValidationError as exc:  # raised while discovering, outside the SDK's own handler
        for error in exc.errors:
            logger.error("%s", error)  # noqa: TRY400
        logger.error("Config validation failed")  # noqa: TRY400
        sys.exit(1)
    except Interrupted as exc:
        logger.error(  # noqa: TRY400
            "Interrupted by %s: stopped. The last STATE written covers only records emitted before it; "
            "the next run resumes from it.",
            exc,
        )
        sys.exit(exc.exit_code)
