"""主动邀评 (issue 28): 办件 left unrated are invited once. The step joins ``transactions.valid``
with the ingest step's evaluated-transaction records, both partitioned by ``transaction_id``
and read partition for partition, in a changelogged table; a timer invites what came due."""
