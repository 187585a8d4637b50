from haochaping.topics import topic_specs
from runtime.settings import Settings


def test_every_topic_carries_min_insync_replicas_from_the_settings() -> None:
    one_broker = topic_specs(Settings())
    assert {spec.configs["min.insync.replicas"] for spec in one_broker} == {"1"}
    cluster = topic_specs(Settings(topic_replication=3, topic_min_insync_replicas=2))
    assert {spec.configs["min.insync.replicas"] for spec in cluster} == {"2"}
    assert len(cluster) == len(one_broker) >= 7


def test_every_table_changelog_the_worker_declares_is_made_beforehand_as_faust_would() -> None:
    # a changelog Faust creates as the worker starts can miss the group's first assignment
    from streams.worker.app import Worker  # Faust: declared here, connected only when started

    settings = Settings(demo_mode=True, topic_partitions=6)
    specs = {spec.name: spec for spec in topic_specs(settings)}
    tables = Worker(settings).app.tables.values()
    for table in tables:
        topic = table.changelog_topic
        spec = specs[topic.get_topic_name()]
        assert spec.partitions == topic.partitions, spec
        assert spec.configs["cleanup.policy"] == "compact", spec
    assert len(tables) == 5
