"""Batch reports over ClickHouse: the analyst queries, problem discovery, and the counting
behind `haochaping report` and `haochaping problems`. The CLI only renders what these return."""
