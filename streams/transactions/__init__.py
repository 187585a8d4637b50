"""办件 (completed transactions, issue 28): what 评价率 is counted against. The worker checks
each record of ``transactions.done`` like an evaluation and writes the accepted ones, keyed by
``transaction_id``, to ``transactions.valid``; the sink lands them in ClickHouse's
``transactions`` and the coverage views join them to the evaluations."""
