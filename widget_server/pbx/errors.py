"""How a PBX API call fails: one exception for every transport, HTTP and PBX failure."""

from __future__ import annotations

from typing import Any

# Known call_back failure: "error while trying to place the callback". It is
# about this attempt (operator offline, bad pin), so another operator may work.
RESULT_CALLBACK_FAILED = "-20"


class PbxError(Exception):
    """A PBX API call failed.

    ``result`` is the PBX's code (or ``"http-503"``, ``"timeout"``, ``"connection"``,
    ``"bad-response"``); ``retryable`` says whether the same call may succeed
    later; ``ambiguous`` says the PBX may have acted although we got no answer.
    ``answer`` is the PBX's JSON answer when it gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        result: str,
        retryable: bool,
        ambiguous: bool = False,
        http_status: int | None = None,
        answer: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.answer = answer
        self.message = message
        self.result = result
        self.retryable = retryable
        self.ambiguous = ambiguous
        self.http_status = http_status


__all__ = ["RESULT_CALLBACK_FAILED", "PbxError"]
