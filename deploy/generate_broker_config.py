"""Generate the broker's users, permissions and policies from the contracts, for compose and Kubernetes.

One user per service with only what it needs, and one policy per contract queue carrying the same
dead-letter settings and delivery limit as the queue arguments that ``celery_tasks.topology`` declares.
Writes two files that are committed (a test fails when they are stale):

- ``deploy/rabbitmq/definitions.template.json``: RabbitMQ definitions for docker-compose, with
  ``${BROKER_<USER>_PASSWORD}`` placeholders that ``render-definitions.sh`` fills in at start;
- ``deploy/k8s/rabbitmq-topology.yaml``: the same as Messaging Topology Operator resources.

Run it with the workspace environment after adding a contract or a service::

    .venv/bin/python deploy/generate_broker_config.py          # rewrite both files
    .venv/bin/python deploy/generate_broker_config.py --check  # exit 1 when they are stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from celery_tasks.registry import ALL_CONTRACTS
from celery_tasks.settings import TaskSettings

from celery_tasks import topology

DEPLOY = Path(__file__).resolve().parent
DEFINITIONS = DEPLOY / "rabbitmq" / "definitions.template.json"
K8S_TOPOLOGY = DEPLOY / "k8s" / "rabbitmq-topology.yaml"

VHOST = "celery-tasks"
NAMESPACE = "celery-tasks"
CLUSTER = "rabbitmq"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Queue arguments that have a policy equivalent (x-queue-type has none: it is fixed at declaration).
POLICY_KEYS = {
    "x-dead-letter-exchange": "dead-letter-exchange",
    "x-dead-letter-routing-key": "dead-letter-routing-key",
    "x-dead-letter-strategy": "dead-letter-strategy",
    "x-overflow": "overflow",
    "x-delivery-limit": "delivery-limit",
}


def namespaces() -> list[str]:
    """The services' queue prefixes, in contract order: 'crawler' for crawler.fetch_page and so on."""
    seen: dict[str, None] = {}
    for contract in ALL_CONTRACTS:
        seen.setdefault(contract.name.split(".", 1)[0], None)
    return list(seen)


def queue_pattern(prefixes: Iterable[str]) -> str:
    """Regex (unanchored) for the contract queues, and exchanges, of these services."""
    names = sorted(prefixes)
    group = names[0] if len(names) == 1 else "(" + "|".join(names) + ")"
    return group + r"\.[a-z0-9_]+"


def worker_permissions(prefix: str) -> dict[str, str]:
    """A consumer's rights: its own queues, their dead-letter pair, its pidbox, events and delayed delivery."""
    queues = queue_pattern([prefix])
    pidbox = rf"^{prefix}@.+\.celery\.pidbox$"
    return {
        "configure": rf"^{queues}(\.dlx|\.dlq)?$|{pidbox}|^celery\.pidbox$|^reply\.celery\.pidbox$"
        r"|^celeryev$|^celery_delayed_",
        "write": rf"^{queues}(\.dlx|\.dlq)?$|{pidbox}|^amq\.default$|^reply\.celery\.pidbox$|^celeryev$"
        r"|^celery_delayed_",
        "read": rf"^{queues}(\.dlx)?$|{pidbox}|^celery\.pidbox$|^celery_delayed_",
    }


def producer_permissions(prefixes: Iterable[str]) -> dict[str, str]:
    """The producer's rights: declare and publish to every contract queue, and read its own reply queue.

    Declaring a queue with a dead-letter exchange needs write on that exchange, hence ``.dlx``.
    """
    queues = queue_pattern(prefixes)
    return {
        "configure": rf"^{queues}(\.dlx|\.dlq)?$|^{UUID}$",
        "write": rf"^{queues}(\.dlx|\.dlq)?$|^celery_delayed_[0-9]+$",
        "read": rf"^{queues}(\.dlx)?$|^{UUID}$",
    }


def flower_permissions() -> dict[str, str]:
    """Flower's rights: its event queue and remote-control replies, nothing of the task queues."""
    events = rf"^celeryev\.{UUID}$"
    replies = rf"^{UUID}\.reply\.celery\.pidbox$"
    return {
        "configure": rf"{events}|{replies}|^celeryev$|^celery\.pidbox$|^reply\.celery\.pidbox$",
        "write": rf"{events}|{replies}|^celery\.pidbox$",
        "read": rf"{events}|{replies}|^celeryev$|^reply\.celery\.pidbox$",
    }


K8S_SKIPPED_USERS = frozenset({"admin", "diagnostics"})
NOTHING = {"configure": "^$", "write": "^$", "read": "^$"}


def users() -> list[dict[str, Any]]:
    """Every broker user: name, management tags, permissions on the vhost, and where it is used."""
    prefixes = namespaces()
    table: list[dict[str, Any]] = [
        {"name": "admin", "tags": ["administrator"], "permissions": {"configure": ".*", "write": ".*", "read": ".*"}},
        {"name": "producer", "tags": ["management"], "permissions": producer_permissions(prefixes)},
    ]
    table += [{"name": prefix, "tags": [], "permissions": worker_permissions(prefix)} for prefix in prefixes]
    table.append({"name": "flower", "tags": ["management"], "permissions": flower_permissions()})
    return table


def policies() -> list[dict[str, Any]]:
    """A policy per contract queue, equal to the arguments the services declare it with."""
    limit = TaskSettings.model_fields["delivery_limit"].default
    result = []
    for contract in ALL_CONTRACTS:
        arguments = topology.task_queue(contract.name, limit).queue_arguments or {}
        definition = {POLICY_KEYS[key]: value for key, value in sorted(arguments.items()) if key in POLICY_KEYS}
        result.append(
            {
                "name": f"dead-letter-{contract.name}",
                "pattern": "^" + re.escape(contract.name) + "$",
                "apply-to": "queues",
                "priority": 10,
                "definition": definition,
            }
        )
    return result


def password_variable(user: str) -> str:
    """The environment variable holding a user's password in docker-compose."""
    return f"BROKER_{user.upper()}_PASSWORD"


def definitions() -> dict[str, Any]:
    """RabbitMQ definitions: the vhost, users (password placeholders), permissions and policies."""
    table = users()
    return {
        "vhosts": [{"name": VHOST}],
        "users": [
            {"name": user["name"], "password": "${" + password_variable(user["name"]) + "}", "tags": user["tags"]}
            for user in table
        ],
        "permissions": [{"user": user["name"], "vhost": VHOST, **user["permissions"]} for user in table],
        "policies": [{"vhost": VHOST, **policy} for policy in policies()],
        "queues": [],
        "exchanges": [],
        "bindings": [],
    }


def k8s_topology() -> list[dict[str, Any]]:
    """The same vhost, users, permissions and policies as Messaging Topology Operator resources."""
    cluster = {"name": CLUSTER}
    meta = {"namespace": NAMESPACE, "labels": {"app.kubernetes.io/part-of": "celery-tasks"}}
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "rabbitmq.com/v1beta1",
            "kind": "Vhost",
            "metadata": {"name": VHOST, **meta},
            "spec": {"name": VHOST, "defaultQueueType": "quorum", "rabbitmqClusterReference": cluster},
        }
    ]
    # The operator's default user (Secret rabbitmq-default-user) is the administrator, and the
    # diagnostics worker is not deployed on Kubernetes.
    table = [user for user in users() if user["name"] not in K8S_SKIPPED_USERS]
    # KEDA reads queue lengths with a passive declare, which needs no permission beyond vhost access.
    table.append({"name": "keda", "tags": [], "permissions": NOTHING})
    for user in table:
        name = user["name"]
        documents.append(
            {
                "apiVersion": "rabbitmq.com/v1beta1",
                "kind": "User",
                "metadata": {"name": f"rabbitmq-user-{name}", **meta},
                "spec": {
                    "tags": user["tags"],
                    "rabbitmqClusterReference": cluster,
                    "importCredentialsSecret": {"name": f"rabbitmq-user-{name}"},
                },
            }
        )
        documents.append(
            {
                "apiVersion": "rabbitmq.com/v1beta1",
                "kind": "Permission",
                "metadata": {"name": f"rabbitmq-permission-{name}", **meta},
                "spec": {
                    "vhost": VHOST,
                    "user": name,
                    "permissions": user["permissions"],
                    "rabbitmqClusterReference": cluster,
                },
            }
        )
    for policy in policies():
        documents.append(
            {
                "apiVersion": "rabbitmq.com/v1beta1",
                "kind": "Policy",
                "metadata": {"name": policy["name"].replace(".", "-").replace("_", "-"), **meta},
                "spec": {
                    "name": policy["name"],
                    "vhost": VHOST,
                    "pattern": policy["pattern"],
                    "applyTo": policy["apply-to"],
                    "priority": policy["priority"],
                    "definition": policy["definition"],
                    "rabbitmqClusterReference": cluster,
                },
            }
        )
    return documents


HEADER = """\
# GENERATED by deploy/generate_broker_config.py from the contracts: do not edit by hand.
# Needs the RabbitMQ Messaging Topology Operator. Passwords come from the Secrets
# rabbitmq-user-<name> (keys username and password, see secrets.yaml).
"""


def render() -> dict[Path, str]:
    """The content of each generated file."""
    topology_yaml = yaml.safe_dump_all(k8s_topology(), sort_keys=False, width=1000)
    return {
        DEFINITIONS: json.dumps(definitions(), indent=2) + "\n",
        K8S_TOPOLOGY: HEADER + "---\n" + topology_yaml,
    }


def main(argv: list[str] | None = None) -> int:
    """Write the generated files, or with --check report the stale ones and return 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the committed files are current")
    args = parser.parse_args(argv)
    stale = []
    for path, content in render().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == content:
            continue
        if args.check:
            stale.append(path)
        else:
            path.write_text(content, encoding="utf-8")
            print(f"wrote {path.relative_to(DEPLOY.parent)}")
    for path in stale:
        print(f"{path.relative_to(DEPLOY.parent)} is stale: run deploy/generate_broker_config.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
