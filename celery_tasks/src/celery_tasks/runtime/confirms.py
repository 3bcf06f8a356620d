"""Publisher confirms of one channel, tracked by delivery tag (bulk sends and deferred acks)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ConfirmTracker:
    """Publisher confirms of one channel: delivery tags count from 1 in publishing order."""

    published: int = 0
    confirmed_upto: int = 0
    singles: set[int] = field(default_factory=set)
    nacked: set[int] = field(default_factory=set)
    nacked_upto: int = 0

    def on_ack(self, tag: int, multiple: bool) -> None:
        """basic.ack: this tag (and with ``multiple`` every earlier one) is safely stored."""
        if multiple:
            self.confirmed_upto = max(self.confirmed_upto, tag)
        else:
            self.singles.add(tag)
        self._advance()

    def on_nack(self, tag: int, multiple: bool) -> None:
        """basic.nack: the broker refused this tag (and with ``multiple`` every earlier unconfirmed one)."""
        if multiple:
            self.nacked.update(t for t in range(self.confirmed_upto + 1, tag + 1) if t not in self.singles)
            self.confirmed_upto = max(self.confirmed_upto, tag)
        else:
            self.nacked.add(tag)
            self.singles.add(tag)
        self._advance()

    def _advance(self) -> None:
        while self.confirmed_upto + 1 in self.singles:
            self.confirmed_upto += 1
            self.singles.discard(self.confirmed_upto)

    @property
    def outstanding(self) -> int:
        """Messages published on the channel and not confirmed yet."""
        return self.published - self.confirmed_upto

    def is_settled(self, tag: int) -> bool:
        """Whether the broker has answered (acked or nacked) a tag."""
        return tag <= self.confirmed_upto or tag in self.singles
