"""Personal data: scrubbing free text and keyed pseudonyms of identifiers (``scrub``).
Used by the worker at ingest and by the reports and sink that show text."""
