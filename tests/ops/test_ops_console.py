"""The console in the Helm chart: a Deployment, a Service and an Ingress with TLS, its OpenID Connect
settings from the values (a confidential client's secret from a Secret), the services it calls in the
cluster, refused without an https public URL or a certificate, and valid Kubernetes objects."""

import pytest

from tests.ops.conftest import ISSUER, HelmError, helm_template, of_kind
from tests.ops.test_ops_chart import validate

ON = ("--set", f"oidc.issuer={ISSUER}", "--set", "database.external.existingSecret=db", "--set", "console.enabled=true",
      "--set", "console.publicUrl=https://rcm.example.org", "--set", "console.ingress.tls.secretName=rcm-tls")  # fmt: skip


def console(manifests: list[dict], kind: str) -> dict:
    (found,) = [
        m for m in of_kind(manifests, kind) if m["metadata"]["labels"]["app.kubernetes.io/component"] == "console"
    ]
    return found


def env_of(deployment: dict) -> dict[str, dict]:
    return {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_the_console_is_a_deployment_a_service_and_an_ingress_with_tls():
    manifests = helm_template(*ON, "--set", "console.ingress.className=nginx")
    validate(manifests)
    deployment, service, ingress = (console(manifests, k) for k in ("Deployment", "Service", "Ingress"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "services.console"] and deployment["spec"]["replicas"] == 1
    assert (
        container["securityContext"]["readOnlyRootFilesystem"]
        and container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    )
    assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert ingress["spec"]["tls"] == [{"hosts": ["rcm.example.org"], "secretName": "rcm-tls"}]
    rule = ingress["spec"]["rules"][0]
    assert (
        rule["host"] == "rcm.example.org"
        and rule["http"]["paths"][0]["backend"]["service"]["name"] == service["metadata"]["name"]
    )


def test_the_console_signs_people_in_at_the_provider_the_services_trust_and_calls_them_in_the_cluster():
    manifests = helm_template(*ON, "--set", "console.clientSecret.existingSecret=console-oidc")
    env = env_of(console(manifests, "Deployment"))
    assert env["RCM_CONSOLE_ISSUER"]["value"] == ISSUER and env["RCM_CONSOLE_AUDIENCE"]["value"] == "openrcm-api"
    assert env["RCM_CONSOLE_CLIENT_ID"]["value"] == "rcm-console"
    assert env["RCM_CONSOLE_PUBLIC_URL"]["value"] == "https://rcm.example.org"
    assert env["RCM_CONSOLE_CLIENT_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "console-oidc",
        "key": "client-secret",
    }
    services = {d["metadata"]["labels"]["app.kubernetes.io/component"]: d["metadata"]["name"]
                for d in of_kind(manifests, "Service")}  # fmt: skip
    for service, variable in (("registration", "REGISTRATION"), ("claims", "CLAIMS"), ("ar-followup", "AR")):
        assert env[f"RCM_CONSOLE_{variable}_URL"]["value"] == f"http://{services[service]}"
    assert "RCM_API_KEY" not in env and "RCM_KAFKA_BOOTSTRAP" not in env  # people's tokens only; no broker


def test_a_public_client_has_no_secret_and_more_replicas_keep_sessions_sticky():
    manifests = helm_template(*ON, "--set", "console.replicas=2")
    assert "RCM_CONSOLE_CLIENT_SECRET" not in env_of(console(manifests, "Deployment"))
    assert console(manifests, "Service")["spec"]["sessionAffinity"] == "ClientIP"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("--set", "console.publicUrl="), "console.publicUrl is required"),
        (("--set", "console.publicUrl=http://rcm.example.org"), "must be https://"),
        (("--set", "console.ingress.tls.secretName="), "console.ingress.tls.secretName is required"),
    ],
)
def test_the_console_is_refused_without_https_or_a_certificate(change, message):
    with pytest.raises(HelmError, match=message):
        helm_template(*ON, *change)


def test_the_console_is_off_unless_asked_and_on_in_production(default_manifests, production_manifests):
    assert not [m for m in default_manifests if "console" in m["metadata"]["name"]]
    ingress = console(production_manifests, "Ingress")
    assert ingress["spec"]["tls"][0]["secretName"] and env_of(console(production_manifests, "Deployment"))[
        "RCM_CONSOLE_PUBLIC_URL"]["value"].startswith("https://")  # fmt: skip
    monitor = of_kind(production_manifests, "ServiceMonitor")[0]["spec"]["selector"]
    assert {"key": "app.kubernetes.io/component", "operator": "NotIn", "values": ["console"]} in monitor[
        "matchExpressions"
    ]
