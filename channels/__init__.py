"""The channel backends' side of haochaping, upstream of Kafka.

`schemas.catalogue` describes what citizens are served by (departments, service items,
districts, halls, windows, staff); `channels.simulation` produces the raw evaluations that
web, app, hall pads, QR codes, kiosks, the hotline and SMS would send to `ratings.raw`.
Nothing here imports Kafka: the producer that ships these bytes lives elsewhere.
"""
