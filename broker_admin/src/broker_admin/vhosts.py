"""Virtual hosts, users and their permissions."""

from __future__ import annotations

import contextlib
from typing import Any

from broker_admin.errors import ManagementNotFound
from broker_admin.http import ManagementSession, segment


class VhostsAPI(ManagementSession):
    """The vhost, user and permission calls of the management API."""

    def vhosts(self) -> list[str]:
        """Names of every virtual host."""
        return [str(item["name"]) for item in self.request("GET", "vhosts")]

    def create_vhost(self, vhost: str) -> None:
        """Create a virtual host (no error if it exists)."""
        self.request("PUT", f"vhosts/{segment(vhost)}")

    def delete_vhost(self, vhost: str) -> None:
        """Delete a virtual host and everything in it (no error if it is gone)."""
        with contextlib.suppress(ManagementNotFound):
            self.request("DELETE", f"vhosts/{segment(vhost)}")

    def users(self) -> list[dict[str, Any]]:
        """Every broker user with its tags (password hashes left out)."""
        return [{"name": user["name"], "tags": user.get("tags", [])} for user in self.request("GET", "users")]

    def create_user(self, user: str, password: str, tags: str = "") -> None:
        """Create or update a broker user."""
        self.request("PUT", f"users/{segment(user)}", json={"password": password, "tags": tags}, secrets=[password])

    def delete_user(self, user: str) -> None:
        """Delete a broker user (no error if it is gone)."""
        with contextlib.suppress(ManagementNotFound):
            self.request("DELETE", f"users/{segment(user)}")

    def set_permissions(
        self, vhost: str, user: str, configure: str = ".*", write: str = ".*", read: str = ".*"
    ) -> None:
        """Grant a user configure, write and read permissions (regular expressions) on a vhost."""
        body = {"configure": configure, "write": write, "read": read}
        self.request("PUT", f"permissions/{segment(vhost)}/{segment(user)}", json=body)

    def permissions(self, vhost: str) -> list[dict[str, Any]]:
        """Every user's permissions on a vhost."""
        result: list[dict[str, Any]] = self.request("GET", f"vhosts/{segment(vhost)}/permissions")
        return result

    def delete_permissions(self, vhost: str, user: str) -> None:
        """Take away a user's permissions on a vhost (no error if there were none)."""
        with contextlib.suppress(ManagementNotFound):
            self.request("DELETE", f"permissions/{segment(vhost)}/{segment(user)}")
