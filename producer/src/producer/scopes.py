"""What a key may do: glob patterns of contract names to submit, read and cancel.

``*`` never reaches the restricted families (``alert.*`` chooses mail recipients, ``diagnostics.*``
holds fault drills): a key reaches them only through a pattern that names the family itself,
such as ``alert.*`` or ``diagnostics.echo``. Reading or cancelling also needs the submit scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Literal

from producer.keys import KeyRecord

Action = Literal["submit", "read", "cancel"]
RESTRICTED = ("alert.", "diagnostics.")


def grants(patterns: list[str], contract: str) -> bool:
    """Whether one of the glob patterns covers ``contract``, restricted families only when named."""
    family = next((prefix for prefix in RESTRICTED if contract.startswith(prefix)), None)
    return any(
        fnmatchcase(contract, pattern) and (family is None or pattern.startswith(family)) for pattern in patterns
    )


@dataclass(frozen=True)
class Caller:
    """The authenticated key behind a request."""

    record: KeyRecord

    @property
    def key_id(self) -> str:
        """The key's public id."""
        return self.record.id

    def may(self, action: Action, contract: str) -> bool:
        """Whether this key may ``action`` tasks of ``contract`` (read and cancel need submit too)."""
        if not grants(self.record.submit, contract):
            return False
        if action == "submit":
            return True
        return grants(self.record.read if action == "read" else self.record.cancel, contract)

    def may_any(self, action: Action, contracts: list[str]) -> bool:
        """Whether this key may ``action`` at least one of ``contracts``."""
        return any(self.may(action, contract) for contract in contracts)
