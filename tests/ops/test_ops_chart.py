"""The Helm chart renders for default and production values, its Kubernetes objects validate
against the Kubernetes schemas (offline, from the kubernetes-validate package), and what it says
about topics, ACLs and consumer groups agrees with the code."""

import importlib.util

import kubernetes_validate
import pytest

from services import NAMES as SERVICES
from services import declaration
from shared.contracts import topics
from tests.ops.conftest import ISSUER, KUBE_VERSION, ROOT, HelmError, helm_template, of_kind

# Operator kinds: no schema ships offline; their content is checked by the tests below.
CUSTOM_KINDS = {
    "KafkaTopic": "kafka.strimzi.io/v1beta2",
    "KafkaUser": "kafka.strimzi.io/v1beta2",
    "Cluster": "postgresql.cnpg.io/v1",
    "ScaledObject": "keda.sh/v1alpha1",
    "TriggerAuthentication": "keda.sh/v1alpha1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
}


def validate(manifests: list[dict]) -> None:
    for manifest in manifests:
        if manifest["kind"] in CUSTOM_KINDS:
            assert manifest["apiVersion"] == CUSTOM_KINDS[manifest["kind"]], manifest["metadata"]["name"]
            continue
        kubernetes_validate.validate(manifest, KUBE_VERSION, strict=True)


def test_default_values_render_valid_kubernetes_objects(default_manifests):
    kinds = {m["kind"] for m in default_manifests}
    assert kinds == {"Deployment", "Service", "PodDisruptionBudget", "PersistentVolumeClaim"}  # no API key Secret
    validate(default_manifests)


def test_production_values_render_valid_objects(production_manifests):
    kinds = {m["kind"] for m in production_manifests}
    assert set(CUSTOM_KINDS) <= kinds
    validate(production_manifests)


def test_the_validator_rejects_a_broken_object(default_manifests):
    broken = {**of_kind(default_manifests, "Deployment")[0]}
    broken["spec"] = {**broken["spec"], "replicas": "two"}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBE_VERSION, strict=True)


def test_missing_settings_and_secrets_are_refused_with_a_clear_message():
    with pytest.raises(HelmError, match=r"oidc.issuer is required: your OpenID Connect provider"):
        helm_template("--set", "database.external.existingSecret=db")
    with pytest.raises(HelmError, match="apiKey.value or apiKey.existingSecret is required with apiKey.fallback"):
        helm_template("--set", "database.external.existingSecret=db", "--set", "apiKey.fallback=true")
    with pytest.raises(HelmError, match=r"database.external.urls.ar_followup"):
        helm_template("--set", f"oidc.issuer={ISSUER}")
    with pytest.raises(HelmError, match="kafka.credentials.existingSecret is required"):
        helm_template(
            "--set",
            f"oidc.issuer={ISSUER}",
            "--set",
            "database.external.existingSecret=db",
            "--set",
            "kafka.saslMechanism=SCRAM-SHA-512",
        )


def test_one_deployment_per_service_with_probes_and_a_long_grace(default_manifests):
    deployments = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d for d in of_kind(default_manifests, "Deployment")
    }
    assert set(deployments) == {s.replace("_", "-") for s in SERVICES}
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["command"] == ["python", "-m", f"services.{name.replace('-', '_')}"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        # The broker waits 30 s for in-flight batches and uvicorn 35 s for requests.
        assert pod["terminationGracePeriodSeconds"] > 35
        (migrate,) = pod["initContainers"]
        assert "upgrade(" in migrate["command"][-1]
        env = {e["name"]: e for e in container["env"]}
        assert env["RCM_MIGRATE_ON_START"]["value"] == "false"
        assert env["RCM_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
            "name": "rcm-databases",
            "key": name.replace("-", "_"),
        }
        assert (env["RCM_OIDC_ISSUER"]["value"], env["RCM_OIDC_AUDIENCE"]["value"]) == (ISSUER, "openrcm-api")
        assert env["RCM_OIDC_API_KEY_FALLBACK"]["value"] == "false" and "RCM_API_KEY" not in env
    assert not [d for d in of_kind(default_manifests, "Deployment") if "payer" in d["metadata"]["name"]]


def test_payer_simulator_is_opt_in():
    manifests = helm_template(
        "--set",
        f"oidc.issuer={ISSUER}",
        "--set",
        "database.external.existingSecret=db",
        "--set",
        "payerSimulator.enabled=true",
    )
    (simulator,) = [d for d in of_kind(manifests, "Deployment") if d["metadata"]["name"].endswith("payer-simulator")]
    assert simulator["spec"]["template"]["spec"]["containers"][0]["command"][:3] == ["python", "-m", "payer_simulator"]


def test_the_chart_topology_is_current():
    spec = importlib.util.spec_from_file_location("chart_topology", ROOT / "deploy" / "tools" / "chart_topology.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.TARGET.read_text() == generator.render(generator.topology()), (
        "deploy/helm/openrcm/topology.yaml is stale: run `python deploy/tools/chart_topology.py`"
    )


def test_topics_are_the_contract_topics_replicated_three_ways(production_manifests):
    kafka_topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(production_manifests, "KafkaTopic")}
    assert set(kafka_topics) == set(topics.ALL_TOPICS), "run `python deploy/tools/chart_topology.py`"
    for name, spec in kafka_topics.items():
        assert spec["replicas"] == 3 and spec["config"]["min.insync.replicas"] == 2
        if name.endswith(topics.DEAD_LETTER_SUFFIX):
            assert spec["config"]["retention.ms"] > kafka_topics[name.removesuffix(".dlt")]["config"]["retention.ms"]


def _code_topology() -> dict[str, tuple[set[str], set[str]]]:
    """What each service consumes and publishes, as its Declaration says (the outbox refuses the rest)."""
    found = {}
    for service in SERVICES:
        declared = declaration(service)
        found[service] = (set(declared.consumed_topics), set(declared.publishes))
    return found


def test_kafka_users_have_exactly_the_acls_the_code_needs(production_manifests):
    users = {
        u["metadata"]["name"].removeprefix("rcm-openrcm-").replace("-", "_"): u
        for u in of_kind(production_manifests, "KafkaUser")
    }
    for service, (consumes, publishes) in _code_topology().items():
        spec = users[service]["spec"]
        assert spec["authentication"]["type"] == "scram-sha-512"
        acls = spec["authorization"]["acls"]
        reads = {a["resource"]["name"] for a in acls if a["resource"]["type"] == "topic" and "Read" in a["operations"]}
        writes = {
            a["resource"]["name"] for a in acls if a["resource"]["type"] == "topic" and "Write" in a["operations"]
        }
        groups = [a["resource"] for a in acls if a["resource"]["type"] == "group"]
        assert reads == consumes, service
        assert writes == publishes | {topics.dead_letter_topic(t) for t in consumes}, service
        assert groups == ([{"type": "group", "name": f"{service}.", "patternType": "prefix"}] if consumes else [])
        assert all(a["resource"].get("name") != "*" for a in acls)


def test_no_service_may_write_intake_fhir_only_the_ehrs_own_kafka_user(production_manifests):
    """The topic side of encounter_intake: a record on intake.fhir carries no token, so who may produce
    is Kafka's ACLs; the organisation grants Write to its EHR's user, the chart to no service."""
    for user in of_kind(production_manifests, "KafkaUser"):
        writes = [a for a in user["spec"]["authorization"]["acls"] if "Write" in a["operations"]]
        assert all(a["resource"].get("name") != topics.INTAKE_FHIR for a in writes), user["metadata"]["name"]


def of_services(manifests: list[dict], kind: str) -> list[dict]:
    """The objects of the five services (not the console's, tests/ops/test_ops_console.py)."""
    names = {s.replace("_", "-") for s in SERVICES}
    return [m for m in of_kind(manifests, kind) if m["metadata"]["labels"].get("app.kubernetes.io/component") in names]


def test_deployments_use_scram_over_tls_with_the_strimzi_secrets(production_manifests):
    for deployment in of_services(production_manifests, "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e for e in container["env"]}
        user = deployment["metadata"]["name"]
        assert env["RCM_KAFKA_SECURITY_PROTOCOL"]["value"] == "SASL_SSL"
        assert env["RCM_KAFKA_SASL_MECHANISM"]["value"] == "SCRAM-SHA-512"
        assert env["RCM_KAFKA_SASL_USERNAME"]["value"] == user
        assert env["RCM_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": user, "key": "password"}
        assert env["RCM_KAFKA_SSL_CAFILE"]["value"].startswith("/etc/openrcm/kafka-ca/")
        # CloudNativePG's app secret, composed into the SQLAlchemy URL by Kubernetes.
        assert env["RCM_DATABASE_URL"]["value"].startswith("postgresql+asyncpg://$(RCM_DB_USER):$(RCM_DB_PASSWORD)@")
        assert "replicas" not in deployment["spec"]  # KEDA owns the replica count


def test_keda_scales_on_the_lag_of_the_real_consumer_groups(production_manifests):
    scaled = {
        s["metadata"]["name"].removeprefix("rcm-openrcm-").replace("-", "_"): s
        for s in of_kind(production_manifests, "ScaledObject")
    }
    for service, (consumes, _) in _code_topology().items():
        triggers = scaled[service]["spec"]["triggers"]
        if consumes:
            # shared/service.py: a subscription's consumer group is "<prefix><service>.<topic>".
            assert {(t["metadata"]["topic"], t["metadata"]["consumerGroup"]) for t in triggers} == {
                (t, f"{service}.{t}") for t in consumes
            }
        else:
            assert [t["type"] for t in triggers] == ["cpu"]
    auth = of_kind(production_manifests, "TriggerAuthentication")[0]["spec"]["secretTargetRef"]
    assert {a["parameter"] for a in auth} == {"sasl", "username", "password", "tls", "ca"}
    keda_secret = next(s for s in of_kind(production_manifests, "Secret") if s["metadata"]["name"].endswith("-keda"))
    assert keda_secret["stringData"]["sasl"] == "scram_sha512"


def test_one_postgres_cluster_per_service(production_manifests):
    clusters = of_kind(production_manifests, "Cluster")
    assert sorted(c["spec"]["bootstrap"]["initdb"]["database"] for c in clusters) == sorted(SERVICES)
    assert all(c["spec"]["instances"] == 3 for c in clusters)


def test_prefix_applies_to_topics_groups_and_acls():
    manifests = helm_template("--set", "topicPrefix=staging.", values=("values-production.yaml",))
    assert all(t["spec"]["topicName"].startswith("staging.") for t in of_kind(manifests, "KafkaTopic"))
    for user in of_kind(manifests, "KafkaUser"):
        assert all(
            a["resource"]["name"].startswith("staging.")
            for a in user["spec"]["authorization"]["acls"]
            if "name" in a["resource"]
        )
    for scaled in of_kind(manifests, "ScaledObject"):
        assert all(
            t["metadata"]["consumerGroup"].startswith("staging.")
            for t in scaled["spec"]["triggers"]
            if t["type"] == "kafka"
        )


def test_service_monitor_scrapes_every_service(production_manifests):
    (monitor,) = of_kind(production_manifests, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    excluded = {v for e in monitor["spec"]["selector"].get("matchExpressions", []) for v in e["values"]}
    services = [
        s
        for s in of_kind(production_manifests, "Service")
        if selector.items() <= s["metadata"]["labels"].items()
        and s["metadata"]["labels"]["app.kubernetes.io/component"] not in excluded
    ]
    assert len(services) == len(SERVICES)
    # production: the metrics port of its own (the API port serves no /metrics there)
    assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]


def test_helm_lint_passes():
    import subprocess

    from tests.ops.conftest import CHART, tool

    for values in ([], ["-f", str(CHART / "values-production.yaml")]):
        result = subprocess.run(
            [
                tool("helm"),
                "lint",
                str(CHART),
                "--strict",
                "--kube-version",
                KUBE_VERSION,
                "--set",
                "apiKey.value=k",
                "--set",
                "database.external.existingSecret=db",
                *values,
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def _service_env(manifests: list[dict]) -> dict[str, dict]:
    """The environment of each service's container, by service."""
    return {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: {
            e["name"]: e for e in d["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        for d in of_services(manifests, "Deployment")
    }


def test_production_takes_bearer_tokens_only_and_keeps_documents_and_metrics_off_the_api(production_manifests):
    for name, env in _service_env(production_manifests).items():
        assert env["RCM_OIDC_ISSUER"]["value"].startswith("https://"), name
        assert env["RCM_OIDC_API_KEY_FALLBACK"]["value"] == "false" and "RCM_API_KEY" not in env
        assert (env["RCM_HTTP_METRICS"]["value"], env["RCM_HTTP_DOCS"]["value"]) == ("false", "false")
        assert env["RCM_METRICS_PORT"]["value"] == "9090"
    assert not [s for s in of_kind(production_manifests, "Secret") if s["metadata"]["name"].endswith("api-key")]
    for service in of_services(production_manifests, "Service"):
        assert {p["name"] for p in service["spec"]["ports"]} == {"http", "metrics"}


def test_the_api_key_fallback_is_explicit_and_its_key_comes_from_a_secret():
    manifests = helm_template(
        "--set", "apiKey.fallback=true", "--set", "apiKey.value=local-key",
        "--set", "database.external.existingSecret=db",
    )  # fmt: skip
    [secret] = [s for s in of_kind(manifests, "Secret") if s["metadata"]["name"].endswith("api-key")]
    assert secret["stringData"] == {"api-key": "local-key"}
    for env in _service_env(manifests).values():
        assert env["RCM_OIDC_API_KEY_FALLBACK"]["value"] == "true"
        assert env["RCM_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": secret["metadata"]["name"], "key": "api-key"}
