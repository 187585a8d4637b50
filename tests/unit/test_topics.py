from haochaping.topics import topic_specs
from runtime.settings import Settings


def test_every_topic_carries_min_insync_replicas_from_the_settings() -> None:
    one_broker = topic_specs(Settings())
    assert {spec.configs["min.insync.replicas"] for spec in one_broker} == {"1"}
    cluster = topic_specs(Settings(topic_replication=3, topic_min_insync_replicas=2))
    assert {spec.configs["min.insync.replicas"] for spec in cluster} == {"2"}
    assert len(cluster) == len(one_broker) >= 7
