"""Errors a user can act on. Pages show their message; they are never shown as a traceback."""


class JetvizInputError(ValueError):
    """Input (a file, an array, a setting) is not what jetviz expects.

    The message names the input, what was expected and what was found, and what to do.
    """
