"""The Kubernetes manifests, validated offline.

Built-in kinds are validated, strictly (unknown fields refused), against the Kubernetes JSON schemas
that the kubernetes-validate package carries, for the oldest and the newest Kubernetes it knows.
No package carries the schemas of the RabbitMQ operators' or KEDA's custom resources, so those are
validated against the minimal schemas in deploy/schemas, written by hand from the CRDs.
The KEDA ScaledObjects must use the numbers of producer.scaling.SCALING_TARGETS, the targets
`producer scale-advice` computes with.

Longer than 300 lines on purpose: one test per promise of the manifests, all on one set of parsed documents.
"""

import json
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from celery_tasks.registry import ALL_CONTRACTS
from dockerfile_parse import DockerfileParser
from producer.scaling import SCALING_TARGETS

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = ROOT / "deploy" / "schemas"
NAMESPACE = "celery-tasks"
KUBERNETES_VERSIONS = [kubernetes_validate.utils.all_versions()[0], kubernetes_validate.utils.latest_version()]
CONSUMER_USERS = {"consumer-crawler": "crawler", "consumer-etl": "etl", "consumer-alert": "alert"}


def load_documents():
    documents = []
    for path in sorted(K8S.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents.append((path.name, document))
    return documents


DOCUMENTS = load_documents()


def doc_id(item):
    name, document = item
    return f"{name}:{document['kind']}/{document['metadata']['name']}"


def of_kind(kind):
    return [document for _, document in DOCUMENTS if document["kind"] == kind]


def named(kind, name):
    matches = [document for document in of_kind(kind) if document["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def custom_schema(document):
    group_version = document["apiVersion"].replace("/", "-")
    path = SCHEMAS / f"{group_version}-{document['kind']}.json"
    return json.loads(path.read_text()) if path.exists() else None


def test_manifests_exist_and_live_in_one_namespace():
    kinds = {document["kind"] for _, document in DOCUMENTS}
    assert {"Namespace", "RabbitmqCluster", "Deployment", "Service", "ConfigMap", "Secret", "ScaledObject"} <= kinds
    for _, document in DOCUMENTS:
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == NAMESPACE, doc_id((_, document))


@pytest.mark.parametrize("item", DOCUMENTS, ids=doc_id)
def test_each_document_validates_against_its_schema(item):
    _, document = item
    schema = custom_schema(document)
    if schema is not None:
        jsonschema.Draft202012Validator.check_schema(schema)
        errors = [f"{list(e.path)}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(document)]
        assert errors == []
        return
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            pytest.fail(f"no schema for {document['apiVersion']} {document['kind']}: every document must be validated")
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"Kubernetes {version}: {'.'.join(map(str, exc.path))}: {exc.message}")


def test_custom_schemas_refuse_unknown_fields():
    scaled = json.loads(json.dumps(named("ScaledObject", "consumer-crawler")))
    scaled["spec"]["triggers"][0]["metadata"]["queueLenght"] = "5"
    schema = custom_schema(scaled)
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(scaled))
    cluster = json.loads(json.dumps(named("RabbitmqCluster", "rabbitmq")))
    cluster["spec"]["replica"] = 3
    assert list(jsonschema.Draft202012Validator(custom_schema(cluster)).iter_errors(cluster))


def test_rabbitmq_is_a_three_node_cluster_on_the_compose_image():
    cluster = named("RabbitmqCluster", "rabbitmq")
    assert cluster["apiVersion"] == "rabbitmq.com/v1beta1"
    assert cluster["spec"]["replicas"] == 3
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    assert cluster["spec"]["image"] == compose["services"]["rabbitmq"]["image"]


@pytest.mark.parametrize("target", SCALING_TARGETS, ids=lambda t: t.consumer)
def test_scaled_objects_use_the_scaling_targets(target):
    scaled = named("ScaledObject", target.consumer)
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] == target.consumer
    named("Deployment", target.consumer)
    assert spec["minReplicaCount"] == target.min_replicas
    assert spec["maxReplicaCount"] == target.max_replicas
    triggers = spec["triggers"]
    assert [t["metadata"]["queueName"] for t in triggers] == list(target.queues)
    for trigger in triggers:
        assert trigger["type"] == "rabbitmq"
        assert trigger["metadata"]["mode"] == "QueueLength"
        assert trigger["metadata"]["value"] == str(target.messages_per_replica)
        # AMQP counts ready messages, which is what scale-advice counts by default.
        assert trigger["metadata"]["protocol"] == "amqp"
        named("TriggerAuthentication", trigger["authenticationRef"]["name"])


def test_every_consumer_deployment_is_scaled_and_every_contract_queue_covered():
    scaled = {document["spec"]["scaleTargetRef"]["name"] for document in of_kind("ScaledObject")}
    assert scaled == set(CONSUMER_USERS)
    queues = {t["metadata"]["queueName"] for d in of_kind("ScaledObject") for t in d["spec"]["triggers"]}
    assert queues == {c.name for c in ALL_CONTRACTS if not c.name.startswith("diagnostics.")}


def container_of(deployment):
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def dockerfile_of(image):
    name = image.rsplit("/", 1)[1].split(":")[0]
    return ROOT / "deploy" / "docker" / f"{name}.Dockerfile"


@pytest.mark.parametrize("deployment", of_kind("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_deployments_run_the_entry_point_non_root_with_probes_and_limits(deployment):
    name = deployment["metadata"]["name"]
    pod = deployment["spec"]["template"]["spec"]
    container = container_of(deployment)
    assert (
        deployment["spec"]["selector"]["matchLabels"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    if name in CONSUMER_USERS:
        assert container["command"] == [name]
    dockerfile = dockerfile_of(container["image"])
    assert dockerfile.exists(), f"{name}: no Dockerfile builds {container['image']}"
    user = [i["value"] for i in DockerfileParser(path=str(dockerfile)).structure if i["instruction"] == "USER"][-1]
    # The restricted Pod Security Standard.
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == user.split(":")[0]
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert {"/tmp", "/var/lib/celery-tasks"} <= mounts, "writable folders on a read-only root"
    assert "livenessProbe" in container
    for resource in ("cpu", "memory"):
        assert container["resources"]["requests"][resource]
        assert container["resources"]["limits"][resource]
    assert quantity(container["resources"]["requests"]["memory"]) <= quantity(
        container["resources"]["limits"]["memory"]
    )


def quantity(text):
    number, unit = re.fullmatch(r"(\d+)(Ki|Mi|Gi)?", str(text)).groups()
    return int(number) * {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}[unit]


@pytest.mark.parametrize("deployment", of_kind("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_each_deployment_logs_in_as_its_own_user_from_a_secret(deployment):
    name = deployment["metadata"]["name"]
    env = {e["name"]: e for e in container_of(deployment)["env"]}
    user = CONSUMER_USERS.get(name, "producer")
    secret = env["BROKER_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert secret == {"name": f"rabbitmq-user-{user}", "key": "password"}
    assert env["CELERY_TASKS_BROKER_URL"]["value"] == (
        f"amqp://{user}:$(BROKER_PASSWORD)@rabbitmq.{NAMESPACE}.svc:5672/celery-tasks"
    )
    assert list(env).index("BROKER_PASSWORD") < list(env).index("CELERY_TASKS_BROKER_URL"), "$(VAR) needs order"
    stored = named("Secret", secret["name"])["stringData"]
    assert stored["username"] == user
    for item in env.values():
        reference = item.get("valueFrom", {}).get("secretKeyRef")
        if reference:
            assert reference["key"] in named("Secret", reference["name"])["stringData"]
    for source in container_of(deployment)["envFrom"]:
        named("ConfigMap", source["configMapRef"]["name"])


def test_producer_api_service_and_single_schedule():
    api = named("Deployment", "producer-api")
    assert container_of(api)["command"] == ["producer", "serve", "--host", "0.0.0.0", "--port", "8000"]
    service = named("Service", "producer-api")
    assert service["spec"]["selector"].items() <= api["spec"]["template"]["metadata"]["labels"].items()
    ports = {port["name"]: port["containerPort"] for port in container_of(api)["ports"]}
    assert service["spec"]["ports"][0]["targetPort"] in ports
    schedule = named("Deployment", "producer-schedule")
    assert container_of(schedule)["command"] == ["producer", "schedule"]
    assert schedule["spec"]["replicas"] == 1
    assert schedule["spec"]["strategy"]["type"] == "Recreate", "two beats at once would send every task twice"


def test_secrets_hold_placeholders_only():
    secrets = of_kind("Secret")
    assert secrets
    for secret in secrets:
        assert "data" not in secret, "base64 data could hide a real secret: use stringData placeholders"
        for key, value in secret["stringData"].items():
            if key != "username":
                assert "CHANGE-ME" in value, f"{secret['metadata']['name']}.{key} is not a placeholder"
    users = [document for document in of_kind("User")]
    for user in users:
        stored = named("Secret", user["spec"]["importCredentialsSecret"]["name"])["stringData"]
        assert set(stored) == {"username", "password"}
    for _, document in DOCUMENTS:
        assert "guest" not in json.dumps(document).lower()


def test_the_api_keys_come_from_a_secret_volume_and_no_probe_needs_a_key():
    api = container_of(named("Deployment", "producer-api"))
    env = {item["name"]: item for item in api["env"]}
    keys_file = Path(env["PRODUCER_API_KEYS_FILE"]["value"])
    mount = next(m for m in api["volumeMounts"] if m["mountPath"] == str(keys_file.parent))
    assert mount["readOnly"] is True and "subPath" not in mount, "a subPath mount is never refreshed: no rotation"
    volumes = {v["name"]: v for v in named("Deployment", "producer-api")["spec"]["template"]["spec"]["volumes"]}
    secret = volumes[mount["name"]]["secret"]["secretName"]
    assert keys_file.name in named("Secret", secret)["stringData"]
    for probe in ("readinessProbe", "livenessProbe"):
        path = api[probe].get("httpGet", {}).get("path")
        assert path in (None, "/healthz"), f"{probe} on {path} would get 401"


def matches(selector, labels):
    """Whether a label selector (matchLabels and In expressions) selects ``labels``."""
    if not set(selector) <= {"matchLabels", "matchExpressions"}:
        return False
    if not selector.get("matchLabels", {}).items() <= labels.items():
        return False
    return all(
        expression["operator"] == "In" and labels.get(expression["key"]) in expression["values"]
        for expression in selector.get("matchExpressions", [])
    )


def pod_labels():
    return {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"] for d in of_kind("Deployment")}


def test_only_the_ingress_and_labelled_clients_reach_the_api():
    policy = named("NetworkPolicy", "producer-api")
    api_labels = pod_labels()["producer-api"]
    assert matches(policy["spec"]["podSelector"], api_labels)
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    [rule] = policy["spec"]["ingress"]
    assert [port["port"] for port in rule["ports"]] == [8000]
    sources = rule["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}} in sources
    in_namespace = [s["podSelector"] for s in sources if "podSelector" in s and "namespaceSelector" not in s]
    assert in_namespace == [{"matchLabels": {"celery-tasks/api-client": "true"}}]
    assert not [name for name, labels in pod_labels().items() if matches(in_namespace[0], labels)], (
        "no Deployment of ours calls the API; a caller opts in with the label"
    )


def test_only_consumers_and_producer_reach_rabbitmq_over_amqp():
    policy = named("NetworkPolicy", "rabbitmq")
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "rabbitmq"}}
    cluster = named("RabbitmqCluster", "rabbitmq")
    assert cluster["metadata"]["name"] == "rabbitmq"  # the operator labels its pods app.kubernetes.io/name=<name>
    rules = policy["spec"]["ingress"]
    services = [r for r in rules if any("matchExpressions" in s.get("podSelector", {}) for s in r["from"])]
    [service_rule] = services
    allowed = {name for name, labels in pod_labels().items() if matches(service_rule["from"][0]["podSelector"], labels)}
    assert allowed == {"consumer-crawler", "consumer-etl", "consumer-alert", "producer-api", "producer-schedule"}
    assert allowed == set(pod_labels()), "every Deployment of ours is a consumer or the producer"
    assert [port["port"] for port in service_rule["ports"]] == [5672]
    others = [r for r in rules if r is not service_rule]
    for rule in others:
        for source in rule["from"]:
            if "namespaceSelector" in source:
                assert rule["ports"], "another namespace reaches one named port, not all of them"
            else:
                assert source == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "rabbitmq"}}}


def test_every_deployment_uses_the_shared_result_store_and_the_api_runs_two_replicas():
    assert named("Deployment", "producer-api")["spec"]["replicas"] == 2
    for deployment in of_kind("Deployment"):
        env = {e["name"]: e for e in container_of(deployment)["env"]}
        assert env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "redis-password", "key": "password"}
        assert env["CELERY_TASKS_RESULT_BACKEND"]["value"] == "redis://:$(REDIS_PASSWORD)@redis.celery-tasks.svc:6379/0"
        assert list(env).index("REDIS_PASSWORD") < list(env).index("CELERY_TASKS_RESULT_BACKEND"), "$(VAR) needs order"
    redis = named("StatefulSet", "redis")
    container = redis["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["memory"] and container["livenessProbe"]
    assert named("Service", "redis")["spec"]["ports"][0]["port"] == 6379
