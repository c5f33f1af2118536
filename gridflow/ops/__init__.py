"""On-call tools behind ``gridflow send|tail|dlq|case``: reading topics without joining the
workers' consumer group, the DLQ's tallies and replay, a case's timeline, and the Chinese
words command centres read. Nothing here runs in a worker."""
