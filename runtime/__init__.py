"""What every stage shares at run time: the settings and the stall watchdog.

Imported by streams/, sinks/, channels/ and the CLI alike; it imports none of them.
"""
