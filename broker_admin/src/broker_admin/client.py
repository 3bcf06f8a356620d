"""ManagementClient: the broker, vhost, queue and message calls of the management API in one object."""

from __future__ import annotations

from typing import Any

from broker_admin.errors import ManagementAPIError, ManagementAuthError, ManagementNotFound
from broker_admin.http import segment
from broker_admin.messages import MessagesAPI
from broker_admin.queues import QueuesAPI
from broker_admin.vhosts import VhostsAPI


class ManagementClient(VhostsAPI, QueuesAPI, MessagesAPI):
    """Talks to RabbitMQ's management API; credentials are never logged nor put in errors."""

    def overview(self) -> dict[str, Any]:
        """Broker-wide totals: versions, message counts and rates."""
        result: dict[str, Any] = self.request("GET", "overview")
        return result

    def whoami(self) -> dict[str, Any]:
        """The user these credentials log in as, with its tags."""
        result: dict[str, Any] = self.request("GET", "whoami")
        return result

    def aliveness(self, vhost: str = "/") -> bool:
        """True when the broker can declare, publish to and consume from a test queue in the vhost.

        A broker that cannot be reached or answers with an error is not alive (False); wrong
        credentials or a missing vhost raise, since they are configuration errors.
        """
        try:
            status = self.request("GET", f"aliveness-test/{segment(vhost)}")
        except (ManagementAuthError, ManagementNotFound):
            raise
        except ManagementAPIError:
            return False
        return bool(status and status.get("status") == "ok")
