"""What the chart does for faults and patient data: alert rules on every waiting gauge the code
exports, one size limit for clients and topics, CloudNativePG logging without bind parameters, and
A/R's statement PDFs on a volume of their own that only A/R mounts."""

import re

import prometheus_client

import shared.metrics  # noqa: F401 - registers the gauges the rules name
from shared.kafka import INTAKE_TOPICS, KafkaLimits
from tests.ops.conftest import of_kind


def exported_metrics() -> set[str]:
    return {sample.name for metric in prometheus_client.REGISTRY.collect() for sample in metric.samples} | {
        metric.name for metric in prometheus_client.REGISTRY.collect()
    }


def test_every_waiting_gauge_has_an_alert_rule_on_a_metric_the_code_exports(production_manifests):
    (rule,) = of_kind(production_manifests, "PrometheusRule")
    rules = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    expressions = " ".join(r["expr"] for r in rules.values())
    for gauge in (
        "rcm_consumer_paused",
        "rcm_dead_letters",
        "rcm_dead_letter_oldest_age_seconds",
        "rcm_files_quarantined",
        "rcm_outbox_oldest_age_seconds",
        "rcm_producer_renewed_total",
    ):
        assert gauge in expressions, gauge
    assert 'rcm_waiting_oldest_age_seconds{what="encounter_for_patient"}' in expressions
    assert 'rcm_waiting_oldest_age_seconds{what="payment_for_claim"}' in expressions
    assert 'rcm_waiting_oldest_age_seconds{what="payment_for_patient"}' in expressions
    named = set(re.findall(r"\b(rcm_[a-z_]+)", expressions))
    assert named <= exported_metrics(), named - exported_metrics()
    for alert in rules.values():
        assert alert["labels"]["severity"] in {"warning", "critical"} and alert["annotations"]["summary"]


def test_alert_rules_are_off_without_the_prometheus_operator(default_manifests):
    assert of_kind(default_manifests, "PrometheusRule") == []


def test_topics_and_clients_share_one_size_limit(production_manifests):
    limits = KafkaLimits()
    topics = {t["spec"]["topicName"]: t["spec"]["config"] for t in of_kind(production_manifests, "KafkaTopic")}
    for name, config in topics.items():
        assert config["max.message.bytes"] == int(limits.topic_config(name)["max.message.bytes"]), name
    assert {topics[t]["max.message.bytes"] for t in INTAKE_TOPICS} == {limits.intake_max_bytes}
    for deployment in of_kind(production_manifests, "Deployment"):
        env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        if "RCM_KAFKA_BOOTSTRAP" not in env:
            continue  # the console talks HTTP only
        assert env["RCM_KAFKA_MAX_MESSAGE_BYTES"] == str(limits.kafka_max_message_bytes)


def test_cloudnativepg_logs_statements_without_their_bind_parameters(production_manifests):
    for cluster in of_kind(production_manifests, "Cluster"):
        parameters = cluster["spec"]["postgresql"]["parameters"]
        assert parameters["log_parameter_max_length"] == "0"
        assert parameters["log_parameter_max_length_on_error"] == "0"


def test_statement_pdfs_are_on_a_volume_only_ar_mounts(default_manifests):
    claims = {c["metadata"]["name"] for c in of_kind(default_manifests, "PersistentVolumeClaim")}
    assert "rcm-openrcm-statements" in claims
    for deployment in of_kind(default_manifests, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        env = {e["name"]: e.get("value") for e in container["env"]}
        if deployment["metadata"]["labels"]["app.kubernetes.io/component"] == "ar-followup":
            assert mounts["statements"] == env["RCM_AR_STATEMENTS_DIR"] == "/data/statements"
            (volume,) = [v for v in pod["volumes"] if v["name"] == "statements"]
            assert volume["persistentVolumeClaim"]["claimName"] == "rcm-openrcm-statements"
        else:
            assert "statements" not in mounts and "RCM_AR_STATEMENTS_DIR" not in env
