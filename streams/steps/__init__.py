"""The three steps of the worker: plain classes over state mappings and an outbox."""
