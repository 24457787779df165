"""The pure parts of rcmctl.stack: rendered configs and the env-selected mode."""

from pathlib import Path
from xml.etree import ElementTree

import pytest

from rcmctl import stack
from rcmctl.stack import kafka, postgres


def parse_properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_server_properties_single_node_kraft():
    props = parse_properties(kafka.render_properties(kafka.server_settings(Path("/d"), 19092, 19093)))
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["log.dirs"] == "/d"
    # Without these a single node never gets a group coordinator or transactions.
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "transaction.state.log.min.isr"):  # fmt: skip
        assert props[key] == "1"
    assert props["auto.create.topics.enable"] == "false"
    assert props["num.partitions"] == "3"
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_kafka_port_from_env(monkeypatch):
    monkeypatch.setenv("RCM_KAFKA_PORT", "29092")
    assert kafka.ports() == (29092, 29093)
    assert kafka.bootstrap() == "127.0.0.1:29092"


def test_docker_env_names_follow_the_image_convention():
    env = kafka.docker_env({"offsets.topic.replication.factor": "1", "a_b-c.d": "x"})
    assert env == {"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1", "KAFKA_A__B___C_D": "x"}


def test_pom_pins_kafka_and_one_log4j2_version():
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ElementTree.fromstring(kafka.render_pom())
    deps = {d.findtext("m:artifactId", namespaces=ns): d.findtext("m:version", namespaces=ns)
            for d in root.findall("m:dependencies/m:dependency", ns)}  # fmt: skip
    assert deps["kafka_2.13"] == kafka.KAFKA_VERSION == "4.1.1"
    assert deps["log4j-slf4j-impl"] == deps["log4j-core"] == deps["log4j-api"]
    assert deps["slf4j-api"].startswith("1.7.")
    assert root.findtext("m:packaging", namespaces=ns) == "pom"


def test_cluster_id_has_kraft_shape():
    cluster_id = kafka.random_cluster_id()
    assert len(cluster_id) == 22 and "=" not in cluster_id


def test_cluster_id_never_reads_as_an_option():
    # One id in 64 would start with "-" and the storage tool would take it for an option.
    assert not any(kafka.random_cluster_id().startswith("-") for _ in range(2000))


def test_postgres_settings_keep_durability():
    conf = postgres.render_settings(15432)
    assert "fsync = on" in conf and "synchronous_commit = on" in conf
    assert "port = 15432" in conf and "max_connections = 200" in conf
    assert "shared_buffers = '1GB'" in conf
    assert "max_wal_size = '8GB'" in conf  # checkpoints by time, not forced by WAL volume under load


def test_postgres_logs_slow_statements_without_their_bind_parameters():
    conf = postgres.render_settings(15432)
    assert "log_parameter_max_length = 0" in conf and "log_parameter_max_length_on_error = 0" in conf


def test_dsn_template_quotes_password(monkeypatch):
    monkeypatch.setenv("RCM_PG_PASSWORD", "p@ss/{x}")
    monkeypatch.setenv("RCM_PG_PORT", "25432")
    template = postgres.dsn_template()
    assert template == "postgresql+asyncpg://rcm:p%40ss%2F%7Bx%7D@127.0.0.1:25432/{db}"
    assert template.format(db="claims").endswith("/claims")


def test_mode_defaults_to_local(monkeypatch):
    monkeypatch.delenv("RCM_INFRA", raising=False)
    assert stack.mode() == "local"


@pytest.mark.parametrize("value", ["external", "TESTCONTAINERS", " local "])
def test_mode_accepts_known_values(monkeypatch, value):
    monkeypatch.setenv("RCM_INFRA", value)
    assert stack.mode() == value.strip().lower()


def test_unknown_mode_is_an_error(monkeypatch):
    monkeypatch.setenv("RCM_INFRA", "docker")
    with pytest.raises(stack.StackError, match="RCM_INFRA"):
        stack.mode()


def test_external_mode_requires_its_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("RCM_INFRA", "external")
    monkeypatch.delenv("RCM_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.setenv("RCM_DATABASE_URL_TEMPLATE", "postgresql+asyncpg://u:p@h:5432/{db}")
    with pytest.raises(stack.StackError, match="RCM_KAFKA_BOOTSTRAP"):
        stack.up(tmp_path)


def test_external_template_needs_db_placeholder(monkeypatch, tmp_path):
    monkeypatch.setenv("RCM_INFRA", "external")
    monkeypatch.setenv("RCM_KAFKA_BOOTSTRAP", "k:9092")
    monkeypatch.setenv("RCM_DATABASE_URL_TEMPLATE", "postgresql+asyncpg://u:p@h:5432/claims")
    with pytest.raises(stack.StackError, match=r"\{db\}"):
        stack.up(tmp_path)


def test_stack_json_round_trip(tmp_path):
    info = stack.StackInfo(mode="external", kafka_bootstrap="k:9092",
                           database_url_template="postgresql+asyncpg://u:p@h:5432/{db}")  # fmt: skip
    stack._write_info(tmp_path, info)
    assert stack.read_info(tmp_path) == info
    assert (tmp_path / "stack.json").stat().st_mode & 0o777 == 0o600
    assert stack.read_info(tmp_path / "missing") is None


def test_a_three_node_cluster_shares_one_quorum_and_replicates_three_ways(monkeypatch, tmp_path):
    monkeypatch.setenv("RCM_KAFKA_PORT", "39092")
    nodes = kafka.cluster(tmp_path)
    assert [(n.node_id, n.port, n.controller_port) for n in nodes] == [
        (1, 39092, 39093),
        (2, 39094, 39095),
        (3, 39096, 39097),
    ]
    assert kafka.cluster_bootstrap(nodes) == "127.0.0.1:39092,127.0.0.1:39094,127.0.0.1:39096"
    settings = [kafka.node_settings(n, nodes) for n in nodes]
    assert {s["controller.quorum.voters"] for s in settings} == {
        "1@127.0.0.1:39093,2@127.0.0.1:39095,3@127.0.0.1:39097"
    }
    assert [s["node.id"] for s in settings] == ["1", "2", "3"]
    assert len({s["log.dirs"] for s in settings}) == 3 and len({n.log for n in nodes}) == 3
    for s in settings:
        assert s["offsets.topic.replication.factor"] == s["default.replication.factor"] == "3"
        assert s["min.insync.replicas"] == s["transaction.state.log.min.isr"] == "2"
